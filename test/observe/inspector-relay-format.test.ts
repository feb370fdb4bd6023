/**
 * What the runtime's inspection events look like in Stately's format (no sockets): a
 * user's child input never leaves (it may hold a credential), values with a `toJSON` are
 * shown as it says, and wirewarden's own actors keep their (safe) inputs.
 */
import { fromCallback, type InspectionEvent } from 'xstate';
import { afterEach, describe, expect, test } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { wire } from '../../src/transport/wire.js';
import { REDACTED_INPUT, toPlain, toStatelyMessage } from '../../src/observe/inspector-relay-format.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function inspected(): { rt: Runtime; messages: string[] } {
  const rt = createRuntime();
  cleanups.push(() => rt.shutdown());
  const messages: string[] = [];
  rt.inspect((e: InspectionEvent) => {
    const m = toStatelyMessage(e);
    if (m !== undefined) messages.push(m);
  });
  return { rt, messages };
}

type Parsed = { type: string; name?: string; event?: { type?: string; input?: unknown }; snapshot?: { input?: unknown }; sessionId: string };
const parse = (messages: string[]): Parsed[] => messages.map((m) => JSON.parse(m) as Parsed);
// shutdownMs 0: a callback actor does not answer the supervisor's shutdown request, it is stopped.
const worker = fromCallback(() => () => {});

describe('inputs in inspection messages', () => {
  test('a static or dynamic child\'s input (a user\'s credential) is in no message: its init and snapshots show "[redacted]"', async () => {
    const { rt, messages } = inspected();
    rt.createSupervisor({ id: 'edge', children: [{ id: 'w', logic: worker, input: { apiKey: 'SECRET-STATIC-KEY' }, shutdownMs: 0 }] });
    rt.createSupervisor({ id: 'edge2', children: [] }).startChild({ id: 'd', logic: worker, input: { apiKey: 'SECRET-DYNAMIC-KEY' }, shutdownMs: 0 });
    await new Promise((r) => setImmediate(r));
    const all = messages.join('\n');
    expect(all).not.toContain('SECRET-STATIC-KEY');
    expect(all).not.toContain('SECRET-DYNAMIC-KEY');
    const parsed = parse(messages);
    const sessionOf = (name: string) => parsed.find((m) => m.type === '@xstate.actor' && m.name === name)!.sessionId;
    for (const child of ['w', 'd']) {
      const id = sessionOf(child);
      const init = parsed.find((m) => m.type === '@xstate.event' && m.sessionId === id && m.event?.type === 'xstate.init')!;
      expect(init.event!.input).toBe(REDACTED_INPUT);
      for (const m of parsed.filter((x) => x.sessionId === id && x.snapshot !== undefined)) expect(m.snapshot!.input).toBe(REDACTED_INPUT);
    }
    // The supervisor's own init shows its spec as the spec's toJSON says: the child, without logic or input.
    const edgeInit = parsed.find((m) => m.type === '@xstate.event' && m.sessionId === sessionOf('edge') && m.event?.type === 'xstate.init')!;
    expect(edgeInit.event!.input).toMatchObject({ id: 'edge', maxRestarts: expect.anything(), children: [{ id: 'w', restart: 'permanent' }] });
    expect((edgeInit.event!.input as { children: object[] }).children[0]).not.toHaveProperty('input');
    expect((edgeInit.event!.input as { children: object[] }).children[0]).not.toHaveProperty('logic');
  });

  test('wirewarden\'s own connection actors keep their input (endpoint, protocol name) in their init', async () => {
    const { rt, messages } = inspected();
    rt.createPool({ id: 'p', endpoints: [{ host: '127.0.0.1', port: 1 }], protocol: wire({ token: 'SECRET-WIRE-TOKEN' }), min: 1, max: 1 });
    await new Promise((r) => setImmediate(r));
    const parsed = parse(messages);
    const conn = parsed.find((m) => m.type === '@xstate.actor' && m.name === 'conn-1')!;
    const init = parsed.find((m) => m.type === '@xstate.event' && m.sessionId === conn.sessionId && m.event?.type === 'xstate.init')!;
    expect(init.event!.input).toMatchObject({ endpoint: { host: '127.0.0.1', port: 1 } });
    expect(messages.join('\n')).not.toContain('SECRET-WIRE-TOKEN');
  });
});

describe('toPlain', () => {
  test('honours toJSON as JSON.stringify does (a Date is its ISO string), and stays cycle-safe', () => {
    const at = new Date('2026-12-04T10:00:00.000Z');
    const custom = { secret: 'hidden', toJSON: () => ({ shown: true, at }) };
    const looped: Record<string, unknown> = { toJSON: () => ({ again: looped }) };
    expect(toPlain({ at, custom, looped, inf: Infinity })).toEqual({
      at: '2026-12-04T10:00:00.000Z', custom: { shown: true, at: '2026-12-04T10:00:00.000Z' }, looped: { again: '[Circular]' }, inf: 'Infinity',
    });
  });
});
