/**
 * The statechart the inspector draws (`connectionMachine.config`, the model's) is the one
 * the actor runs, end to end with the live half: every transition taken across the
 * scenarios below — heartbeat, suspicion, death by each cause, CLOSE and KILL from several
 * states — is an edge of `connectionModel`, and together they take every edge of it. Plus
 * the snapshot's machine shape. (The comparison with XState's interpretation of the model
 * is in model-cells.test.ts, cell by cell; model-paths.test.ts, path by path; and
 * model-random.test.ts, random sequences, pure and live.)
 */
import { describe, expect, it } from 'vitest';
import { createActor, type InspectionEvent } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import { connectionModel } from '../../src/actors/connection-model.js';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { DialRefusedError } from '../../src/errors.js';
import { VirtualTimeScheduler } from 'rxjs';
import { FakeDbServer, fakeDbProtocol } from './helpers/fake-db-client.js';
import { FakeProtocol } from './helpers/fake-protocol.js';
import { FakeTransport } from './helpers/fake-transport.js';
import { advanceTo, virtualConnection, type VirtualConnectionOptions } from './helpers/virtual-connection.js';

type Edge = `${string} --${string}--> ${string}`;

function pathOf(value: unknown): string {
  return typeof value === 'string' ? value : Object.entries(value as Record<string, string>).map(([k, v]) => `${k}.${v}`)[0]!;
}

/** Every `state --event--> target` the model draws (a parent's `on` applies to its children). */
function chartEdges(): Set<Edge> {
  const edges = new Set<Edge>();
  const pathOfNode = (n: { path: string[] }): string => n.path.join('.');
  for (const node of getStateNodes(connectionModel.root)) {
    if (Object.keys(node.states).length > 0 || node.type === 'final') continue;
    for (let at: typeof node | undefined = node; at !== undefined; at = at.parent) {
      for (const [event, transitions] of at.transitions) {
        // A child's own handler wins over its parent's for the same event.
        if (at !== node && node.transitions.has(event)) continue;
        for (const t of transitions) for (const target of t.target ?? []) edges.add(`${pathOfNode(node)} --${event}--> ${pathOfNode(target)}`);
      }
    }
  }
  return edges;
}

/** Runs a scenario and returns the transitions the actor took. */
async function taken(options: VirtualConnectionOptions, drive: (c: ReturnType<typeof virtualConnection>) => Promise<void>): Promise<Edge[]> {
  const edges: Edge[] = [];
  let prev: string | undefined;
  const inspect = (e: InspectionEvent): void => {
    if (e.type !== '@xstate.snapshot') return;
    const snap = e.snapshot as { value?: unknown };
    if (snap.value === undefined) return;
    const path = pathOf(snap.value);
    const type = e.event.type;
    if (prev !== undefined && type !== 'xstate.init' && type !== 'xstate.stop') {
      // A re-entry (suspect → suspect) is a transition too; an ignored event is not.
      if (path !== prev || (path === 'suspect' && type === 'ww.probe.failed')) edges.push(`${prev} --${type}--> ${path}`);
    }
    prev = path;
  };
  const c = virtualConnection({ ...options, inspect });
  await drive(c);
  return edges;
}

describe('the connection model, end to end', () => {
  it('draws exactly the transitions the actor takes', async () => {
    const seen: Edge[] = [];
    const run = async (...args: Parameters<typeof taken>) => seen.push(...(await taken(...args)));
    // Heartbeat, false suspicion, suspect exhausted.
    await run({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300, suspectProbes: 2 } }, async (c) => {
      c.protocol.probeBehaviour.push({ replyMs: 5 }, 'hang', { replyMs: 5 }, 'hang', 'hang');
      c.protocol.defaultProbe = 'hang';
      await c.runUntil('dead');
    });
    // Probe timed out but traffic arrived meanwhile (probe.alive), from probing and from suspect.
    await run({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300 }, protocol: { probe: 'hang' } }, async (c) => {
      await c.advanceTo(500);
      c.transport.last.server!.write('x');
      await c.advanceTo(1900); // next tick 1500, timed out at 1800 with no traffic
      expect(c.state()).toBe('suspect');
      c.transport.last.server!.write('y');
      await c.runUntil('ready');
      c.actor.send({ type: 'KILL', reason: 'max-lifetime' });
    });
    // A request of a held connection timed out: suspect straight from ready.
    await run({ heartbeat: { intervalMs: 1000 }, input: { leased: () => true } }, async (c) => {
      await c.runUntil('ready');
      c.protocol.session!.ctx.requestTimedOut!();
      await c.runUntil('suspect');
    });
    // suspectProbes 0: the first failure is fatal.
    await run({ heartbeat: { intervalMs: 1000, suspectProbes: 0 }, protocol: { probe: 'fail' } }, (c) => c.runUntil('dead').then(() => {}));
    // Dial refused; handshake rejected; stream lost during the handshake; stream lost when ready.
    await run({ transport: { error: new DialRefusedError('refused') } }, (c) => c.runUntil('dead').then(() => {}));
    await run({ protocol: { handshake: 'fail' } }, (c) => c.runUntil('dead').then(() => {}));
    await run({ protocol: { handshake: 'hang' } }, async (c) => {
      await c.advanceTo(1);
      c.transport.last.server!.end();
      await c.runUntil('dead');
    });
    await run({}, async (c) => {
      await c.runUntil('ready');
      c.transport.last.server!.end();
      await c.runUntil('dead');
    });
    // The stream ends while probing, and while suspect.
    for (const at of [600, 3000]) {
      await run({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 2000 }, protocol: { probe: 'hang' } }, async (c) => {
        await c.advanceTo(at);
        c.transport.last.server!.end();
        await c.runUntil('dead');
      });
    }
    // CLOSE while connecting, handshaking, ready, probing, suspect; KILL while connecting,
    // handshaking, probing, suspect and closing; the stream ending while closing.
    for (const transport of [{ hang: true }, {}]) {
      await run({ transport, protocol: { handshake: 'hang' } }, async (c) => {
        await c.advanceTo(1);
        c.actor.send({ type: 'CLOSE' });
        await c.advanceTo(2);
      });
      await run({ transport, protocol: { handshake: 'hang' } }, async (c) => {
        await c.advanceTo(1);
        c.actor.send({ type: 'KILL', reason: 'leak-reclaimed' });
      });
    }
    for (const [at, state] of [[100, 'ready'], [600, 'probing'], [3000, 'suspect']] as const) {
      for (const command of ['CLOSE', 'KILL'] as const) {
        await run({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 2000 }, protocol: { probe: 'hang', close: 'hang' } }, async (c) => {
          await c.advanceTo(at);
          expect(c.state()).toBe(state);
          c.actor.send(command === 'CLOSE' ? { type: 'CLOSE' } : { type: 'KILL', reason: 'max-lifetime' });
          await c.advanceTo(at + 1);
        });
      }
    }
    await run({ protocol: { close: 'hang' } }, async (c) => {
      await c.runUntil('ready');
      c.actor.send({ type: 'CLOSE' });
      c.actor.send({ type: 'KILL', reason: 'max-lifetime' });
    });
    await run({ protocol: { close: 'hang' } }, async (c) => {
      await c.runUntil('ready');
      c.actor.send({ type: 'CLOSE' });
      await c.advanceBy(1);
      c.transport.last.server!.end();
      await c.runUntil('closed');
    });
    await run({ protocol: { close: { ms: 5 } } }, async (c) => {
      await c.runUntil('ready');
      c.actor.send({ type: 'CLOSE' });
      await c.runUntil('closed');
    });

    // A connect protocol (a library that dials by itself): connecting → ready in one step.
    {
      const vts = new VirtualTimeScheduler();
      const server = new FakeDbServer({ scheduler: vts });
      await run({ input: { protocol: fakeDbProtocol(server).protocol as never, transport: undefined, scheduler: vts } }, async (c) => {
        await advanceTo(vts, 1);
        expect(c.state()).toBe('ready');
        c.actor.send({ type: 'CLOSE' });
        await advanceTo(vts, 2);
      });
    }

    const chart = chartEdges();
    const off = [...new Set(seen)].filter((e) => !chart.has(e));
    expect(off).toEqual([]);
    const untaken = [...chart].filter((e) => !seen.includes(e));
    expect(untaken).toEqual([]);
  });

  it('hands the inspector a config that names the guard of a failed probe', () => {
    // What the Stately inspector receives: the config as JSON (functions dropped).
    const config = JSON.parse(JSON.stringify(connectionMachine.config)) as {
      states: Record<string, { on?: Record<string, unknown> }>;
    };
    for (const state of ['probing', 'suspect']) {
      expect(config.states[state]!.on!['ww.probe.failed']).toEqual([
        { guard: 'suspicionWindowEnded', target: '#connection.dead', actions: { type: 'recordDeath', params: { reason: 'heartbeat-timeout' } } },
        { target: '#connection.suspect', reenter: true, actions: 'countFailedProbe' },
      ]);
    }
  });

  it('gives machine-shaped snapshots and refuses to restore one', async () => {
    const c = virtualConnection();
    await c.runUntil('ready');
    const snap = c.actor.getSnapshot();
    expect(snap).toMatchObject({ status: 'active', value: 'ready', output: undefined, error: undefined, children: {} });
    expect(snap.matches('ready')).toBe(true);
    expect(snap.matches('dialing')).toBe(false);
    expect(JSON.parse(JSON.stringify(c.actor.getPersistedSnapshot()))).toMatchObject({ status: 'active', value: 'ready' });
    expect(connectionMachine.config).toBe(connectionModel.config);

    const early = virtualConnection({ noStart: true });
    expect(early.actor.getSnapshot().value).toEqual({ dialing: 'connecting' });
    expect(early.actor.getSnapshot().matches('dialing')).toBe(true);
    expect(early.actor.getSnapshot().matches('dialing.connecting')).toBe(true);

    const restored = createActor(connectionMachine, { snapshot: c.actor.getPersistedSnapshot() } as never);
    expect(restored.getSnapshot()).toMatchObject({ status: 'error', error: expect.objectContaining({ code: 'WW_INVALID_OPTION' }) });
    c.actor.stop();
  });

  it('refuses to restore the interpreted model too (it would restore a context with no live half: no dial, tick or probe)', async () => {
    const vts = new VirtualTimeScheduler();
    const input = {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol: new FakeProtocol({ scheduler: vts }),
      transport: new FakeTransport({ scheduler: vts }),
      scheduler: vts,
      random: () => 0.5,
      loadSource: () => 0,
    };
    const model = createActor(connectionModel, { input });
    model.start();
    await advanceTo(vts, 1);
    expect(model.getSnapshot().value).toBe('ready');
    const persisted = model.getPersistedSnapshot();
    model.stop();
    const restored = createActor(connectionModel, { input, snapshot: persisted });
    expect(restored.getSnapshot()).toMatchObject({
      status: 'error',
      error: expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringContaining('cannot be restored') }),
    });
  });
});
