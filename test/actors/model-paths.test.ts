/**
 * XState's graph utilities on the connection: the shortest and the simple paths of
 * `connectionModel` (every guard case of `ww.probe.failed` included) are the paths of
 * `connectionMachine` too, and every one of them replays identically on virtual-time
 * actors — the fast path and XState's interpretation of the model, side by side — when
 * each event is produced for real by the transport, the protocol, the peer or the clock.
 */
import { describe, expect, it } from 'vitest';
import { getShortestPaths, getSimplePaths, type StatePath } from 'xstate/graph';
import type { EventObject, Snapshot } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionModel } from '../../src/actors/connection-model.js';
import type { ConnectionEvent } from '../../src/actors/connection-events.js';
import { view } from './helpers/model-fixtures.js';
import { ScriptedConnection } from './helpers/scripted-connection.js';

const STEP_MS = 100;

/** One event per type, and each guard case of `ww.probe.failed`. */
const EVENTS: ConnectionEvent[] = [
  { type: 'CLOSE' },
  { type: 'KILL', reason: 'max-lifetime' },
  { type: 'ww.stream.closed', reason: 'peer-closed' },
  { type: 'ww.dial.done' },
  { type: 'ww.connect.done' },
  { type: 'ww.dial.failed', error: undefined as never },
  { type: 'ww.handshake.done' },
  { type: 'ww.handshake.failed', error: undefined as never },
  { type: 'ww.heartbeat.idle' },
  { type: 'ww.request.timedout' },
  { type: 'ww.probe.ok', rttMs: 1 },
  { type: 'ww.probe.alive' },
  { type: 'ww.probe.failed', silentMs: STEP_MS, windowMs: 10 * STEP_MS },
  { type: 'ww.probe.failed', silentMs: 10 * STEP_MS, windowMs: 10 * STEP_MS },
  { type: 'ww.close.done' },
];

const INPUT = {
  endpoint: { host: '127.0.0.1', port: 7000 },
  protocol: { name: 'stub', open: () => Promise.resolve({}), probe: () => Promise.resolve(), close: () => Promise.resolve() },
};

const valueOf = (s: unknown): unknown => (s as { value: unknown }).value;
const byValue = (s: Snapshot<unknown>): string => JSON.stringify(valueOf(s));
const label = (v: unknown): string => (typeof v === 'string' ? v : `dialing.${(v as { dialing: string }).dialing}`);
const windowEnded = (e: EventObject): boolean => {
  const f = e as unknown as { type: string; silentMs: number; windowMs: number };
  return f.type === 'ww.probe.failed' && f.silentMs >= f.windowMs;
};
const eventLabel = (e: EventObject): string => (e.type === 'ww.probe.failed' ? `${e.type}[${windowEnded(e) ? 'ended' : 'left'}]` : e.type);

/** A path as `event → state` labels (its first step is the initial state). */
function describePath(path: StatePath<Snapshot<unknown>, EventObject>): string[] {
  return path.steps.slice(1).map((s) => `${eventLabel(s.event)} → ${label(valueOf(s.state))}`);
}

function traverse(generate: typeof getShortestPaths, logic: typeof connectionModel | typeof connectionMachine) {
  return generate(logic as never, { input: INPUT, events: EVENTS, serializeState: byValue } as never) as StatePath<Snapshot<unknown>, EventObject>[];
}

/**
 * The heartbeat a path needs so that its failed probes fall on the right side of the
 * guard: probe timeouts fixed at STEP_MS, each failure adds STEP_MS of silence, so a run
 * of n failures ending in `dead` needs a window of n × STEP_MS, and a run that ends
 * otherwise a longer one.
 */
function heartbeatFor(events: EventObject[]) {
  const runs: { length: number; ended: boolean }[] = [];
  let length = 0;
  for (const e of events) {
    if (e.type === 'ww.probe.failed') {
      length++;
      if (windowEnded(e)) {
        runs.push({ length, ended: true });
        length = 0;
      }
    } else if (length > 0) {
      runs.push({ length, ended: false });
      length = 0;
    }
  }
  if (length > 0) runs.push({ length, ended: false });
  const ended = new Set(runs.filter((r) => r.ended).map((r) => r.length));
  if (ended.size > 1) throw new Error('a path whose runs need two windows');
  const windowMs = ended.size === 1 ? [...ended][0]! * STEP_MS : (Math.max(0, ...runs.map((r) => r.length)) + 1) * STEP_MS;
  for (const r of runs) if (!r.ended && r.length * STEP_MS >= windowMs) throw new Error('a path whose runs need two windows');
  return { intervalMs: 1000, minTimeoutMs: STEP_MS, maxTimeoutMs: STEP_MS, suspectBackoffMultiplier: 1, eluWeight: 0, suspicionWindowMs: windowMs };
}

/** Replays a path on a fast and an interpreted actor; returns the states each went through. */
async function replay(path: StatePath<Snapshot<unknown>, EventObject>) {
  const events = path.steps.slice(1).map((s) => s.event as ConnectionEvent);
  const mode = events.some((e) => e.type === 'ww.connect.done') ? 'connect' : 'stream';
  const heartbeat = heartbeatFor(events);
  const fast = new ScriptedConnection(connectionMachine, mode, heartbeat);
  const model = new ScriptedConnection(connectionModel, mode, heartbeat);
  const seen = { fast: [] as string[], model: [] as string[] };
  for (const event of events) {
    for (const [name, c] of [['fast', fast], ['model', model]] as const) {
      await c.produce(event);
      seen[name].push(`${eventLabel(event)} → ${c.path()}`);
    }
  }
  return { seen, fast, model };
}

describe('the graph utilities on the connection', () => {
  const shortest = traverse(getShortestPaths, connectionModel);
  const simple = traverse(getSimplePaths, connectionModel);

  it('reach every state, through each guard case, on the model and on connectionMachine alike', () => {
    expect(new Set(shortest.map((p) => label(valueOf(p.state))))).toEqual(new Set([
      'dialing.connecting', 'dialing.handshaking', 'ready', 'probing', 'suspect', 'closing', 'dead', 'closed',
    ]));
    const simpleLabels = simple.map((p) => describePath(p).join(', '));
    expect(simpleLabels.some((p) => p.endsWith('ww.probe.failed[left] → suspect, ww.probe.failed[ended] → dead'))).toBe(true);
    expect(simpleLabels.some((p) => p.endsWith('ww.heartbeat.idle → probing, ww.probe.failed[ended] → dead'))).toBe(true);
    // connectionMachine, which XState only knows as actor logic, walks the same graph.
    const weights = (paths: StatePath<Snapshot<unknown>, EventObject>[]) =>
      Object.fromEntries(paths.map((p) => [label(valueOf(p.state)), p.weight]));
    expect(weights(traverse(getShortestPaths, connectionMachine))).toEqual(weights(shortest));
    expect(new Set(traverse(getSimplePaths, connectionMachine).map((p) => describePath(p).join(', ')))).toEqual(new Set(simpleLabels));
  });

  it.each(shortest.map((p) => [describePath(p).join(', ') || '(initial)', p] as const))('shortest path replays on both actors: %s', async (_name, path) => {
    const { seen, fast, model } = await replay(path);
    expect(seen.fast).toEqual(describePath(path));
    expect(seen.model).toEqual(describePath(path));
    expect(view(fast.actor.getSnapshot() as never)).toEqual(view(model.actor.getSnapshot() as never));
    expect([...fast.errors, ...model.errors]).toEqual([]);
    fast.actor.stop();
    model.actor.stop();
  });

  it(`every simple path (${simple.length}) replays on both actors`, async () => {
    expect(simple.length).toBeGreaterThan(50);
    for (const path of simple) {
      const { seen, fast, model } = await replay(path);
      expect(seen.fast, describePath(path).join(', ')).toEqual(describePath(path));
      expect(seen.model).toEqual(describePath(path));
      expect(view(fast.actor.getSnapshot() as never)).toEqual(view(model.actor.getSnapshot() as never));
      fast.actor.stop();
      model.actor.stop();
    }
  }, 120_000);
});
