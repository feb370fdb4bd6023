/**
 * A small supervision tree on the real clock: a one-for-one "edge" supervisor with two
 * flaky workers and a nested rest-for-one group. Workers die now and then; supervisors
 * restart them with backoff; after two seconds the runtime shuts down in order. Worker
 * `a` uses phased jitter: its delays keep one phase across attempts (e.g. 22, 71, 143 ms,
 * each in [cap(k−1), cap(k)]).
 *
 *   npx tsx examples/supervisor-tree.ts
 */
import { assign, setup } from 'xstate';
import { constantBackoff, createRuntime, exponentialBackoff, supervisorChild } from 'wirewarden';

/** Dials for `dialMs`, then serves until it dies after `lifeMs` (output reason `peer-closed`). */
const flakyWorker = setup({
  types: {
    input: {} as { dialMs: number; lifeMs: number },
    context: {} as { dialMs: number; lifeMs: number; reason: string },
    output: {} as { reason: string },
  },
  delays: { dial: ({ context }) => context.dialMs, life: ({ context }) => context.lifeMs },
}).createMachine({
  context: ({ input }) => ({ ...input, reason: 'peer-closed' }),
  initial: 'dialing',
  output: ({ context }) => ({ reason: context.reason }),
  states: {
    dialing: { after: { dial: 'ready' }, on: { CLOSE: 'closed' } },
    ready: { after: { life: 'dead' }, on: { CLOSE: 'closed' } },
    dead: { type: 'final' },
    closed: { type: 'final', entry: assign({ reason: 'closed' }) },
  },
});

const rt = createRuntime();
const t0 = rt.scheduler.now();
const at = (ms: number) => `+${ms - t0}ms`.padStart(8);
rt.events$.subscribe((e) => {
  switch (e.type) {
    case 'state':
      console.log(`${at(e.at)} ${e.path.padEnd(22)} ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`);
      break;
    case 'restart':
      console.log(`${at(e.at)} ${e.path.padEnd(22)} restart #${e.attempt} in ${e.delayMs} ms${e.trigger ? ` (sibling ${e.trigger})` : ''}`);
      break;
    case 'escalation':
    case 'runtime-failed':
    case 'shutdown':
      console.log(e.type, 'error' in e ? (e.error as Error).message : '');
      break;
  }
});

const edge = rt.createSupervisor({
  id: 'edge',
  strategy: 'one-for-one',
  maxRestarts: 20,
  withinMs: 10_000,
  children: [
    { id: 'a', logic: flakyWorker, input: { dialMs: 50, lifeMs: 400 }, backoff: exponentialBackoff({ initialMs: 50, maxMs: 1000, jitter: 'phased' }) },
    { id: 'b', logic: flakyWorker, input: { dialMs: 80, lifeMs: 5000 } },
    supervisorChild({
      id: 'group',
      strategy: 'rest-for-one',
      children: [
        { id: 'db', logic: flakyWorker, input: { dialMs: 30, lifeMs: 700 }, backoff: constantBackoff({ delayMs: 100 }) },
        { id: 'cache', logic: flakyWorker, input: { dialMs: 30, lifeMs: 5000 } },
      ],
    }),
  ],
});

await new Promise((resolve) => setTimeout(resolve, 2000));
console.log('children:', edge.children());
await rt.shutdown();
await rt.done;
console.log('runtime', rt.state);
