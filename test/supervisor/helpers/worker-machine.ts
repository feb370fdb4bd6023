/**
 * A stand-in for the connection machine: a child the tests can make die (`DIE` →
 * `dead`, output `{ reason: 'dead-ish' }`), close normally on its own (`FINISH` →
 * `closed`), crash (`CRASH` → actor error), or ignore `CLOSE` (`ignoreClose`).
 * Optional timers (on the runtime's clock) dial first, or die after a while.
 */
import { assign, setup } from 'xstate';

export interface WorkerInput {
  /** Stay in `dialing` this long before `ready`. */
  readonly dialMs?: number;
  /** Die this long after reaching `ready`. */
  readonly dieAfterMs?: number;
  /** `CLOSE` takes this long (in `closing`). */
  readonly closeMs?: number;
  /** Ignore `CLOSE`: the supervisor must force it. */
  readonly ignoreClose?: boolean;
  /** Throw while starting (an actor error at spawn). */
  readonly crashOnStart?: boolean;
}

export type WorkerEvent =
  | { type: 'DIE'; reason?: string }
  | { type: 'FINISH' }
  | { type: 'CRASH' }
  | { type: 'CLOSE' };

interface WorkerContext {
  readonly input: WorkerInput;
  readonly reason: string;
}

export const workerMachine = setup({
  types: {
    input: {} as WorkerInput | undefined,
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    output: {} as { reason: string },
  },
  actions: {
    crash: () => {
      throw new Error('worker crashed');
    },
  },
  guards: {
    dials: ({ context }) => (context.input.dialMs ?? 0) > 0,
    crashesOnStart: ({ context }) => context.input.crashOnStart === true,
    ignoresClose: ({ context }) => context.input.ignoreClose === true,
    diesLater: ({ context }) => context.input.dieAfterMs !== undefined,
    closesAtOnce: ({ context }) => (context.input.closeMs ?? 0) === 0,
  },
  delays: {
    dial: ({ context }) => context.input.dialMs ?? 0,
    dieAfter: ({ context }) => context.input.dieAfterMs ?? 0,
    close: ({ context }) => context.input.closeMs ?? 0,
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ input: input ?? {}, reason: 'dead-ish' }),
  initial: 'starting',
  output: ({ context }) => ({ reason: context.reason }),
  on: {
    DIE: { target: '.dead', actions: assign({ reason: ({ event }) => event.reason ?? 'dead-ish' }) },
    FINISH: '.closed',
    CRASH: { actions: 'crash' },
  },
  states: {
    starting: {
      always: [
        { guard: 'crashesOnStart', actions: 'crash' },
        { guard: 'dials', target: 'dialing' },
        { target: 'ready' },
      ],
    },
    dialing: {
      after: { dial: 'ready' },
      on: { CLOSE: [{ guard: 'ignoresClose' }, { target: 'closing' }] },
    },
    ready: {
      after: { dieAfter: { guard: 'diesLater', target: 'dead' } },
      on: { CLOSE: [{ guard: 'ignoresClose' }, { target: 'closing' }] },
    },
    closing: {
      always: { guard: 'closesAtOnce', target: 'closed' },
      after: { close: 'closed' },
    },
    dead: { type: 'final' },
    closed: { type: 'final', entry: assign({ reason: 'closed' }) },
  },
});
