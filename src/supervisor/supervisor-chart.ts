/**
 * The supervisor's phases as an XState statechart, for the Stately inspector (which draws
 * `actorRef.logic.config`: `supervisorLogic.config` is `supervisorChart.config`), Stately's
 * editor and XState's graph utilities. Every supervisor publishes it: the runtime's root,
 * each pool's and subscriber's supervisor, and the user's own.
 *
 *   running ──CLOSE──────────────────────────────▶ stopping ──[allChildrenStopped]──▶ stopped (final)
 *      │ child exit [exitExpected]          ↺ bookkeeping
 *      │ child exit [notRestarted]          ↺ remove the child
 *      │ child exit [intensityExceeded] ──────────▶ failing ──[allChildrenStopped]──▶ failed (final)
 *      └ child exit (otherwise)             ↺ restart the strategy's group after the backoff delay
 *
 * It describes the engine's phases; the engine decides them: each guard's name labels a
 * decision `planExit` (restart-plan.ts) makes and supervisor-engine.ts carries out, which
 * stay plain methods because supervision is per-child bookkeeping (see the engine's
 * docblock). test/supervisor/supervisor-chart.test.ts checks, guard by guard, that every
 * phase change real supervisors make is an edge of this chart and every edge is taken.
 * A forced stop (`xstate.stop`, which XState applies to any actor) ends in `stopped` or
 * `failed` from anywhere and is not drawn.
 */
import { createMachine } from 'xstate';

/** The child-exit events, as XState names them (`xstate.done.actor.<child id>`). */
const CHILD_DONE = 'xstate.done.actor.*';
const CHILD_ERROR = 'xstate.error.actor.*';

/** A child exits while the supervisor runs: the first guard that holds picks the transition. */
const onChildExit = [
  {
    guard: 'exitExpected',
    actions: 'endIncarnation',
    description: 'The child was being stopped or waits in a restart group, or the event is from an older incarnation: bookkeeping only.',
  },
  {
    guard: 'notRestarted',
    actions: ['endIncarnation', 'removeChild'],
    description: 'temporary, or transient after a normal exit: the child is forgotten.',
  },
  {
    guard: 'intensityExceeded',
    target: 'failing',
    actions: ['endIncarnation', 'escalate'],
    description: 'More than maxRestarts restarts within withinMs: the supervisor gives up (output reason restart-intensity).',
  },
  {
    actions: ['endIncarnation', 'restartGroup'],
    description: 'The strategy\'s group stops (reverse start order), waits the backoff delay, starts again (start order).',
  },
] as const;

/** While the supervisor stops its children (gracefully, or after giving up). */
function ending(final: 'stopped' | 'failed') {
  return {
    entry: 'stopChildrenInOrder',
    always: { guard: 'allChildrenStopped', target: final },
    on: {
      [CHILD_DONE]: { actions: 'endIncarnation' },
      [CHILD_ERROR]: { actions: 'endIncarnation' },
      TIMER: { actions: 'forceOverdueChild', description: 'A child ignored CLOSE for its shutdownMs: it is stopped now.' },
      TERMINATE_CHILD: { actions: 'terminateChild' },
      RESTART_CHILD: { actions: 'rejectRequest' },
    },
  } as const;
}

export const supervisorChart = createMachine({
  id: 'supervisor',
  description: 'An OTP-style supervisor (strategy, restart intensity, backoff per child). Its context: strategy, maxRestarts ("Infinity" when unbounded), withinMs, restartLog, childCounts.',
  initial: 'running',
  states: {
    running: {
      entry: 'startStaticChildren',
      on: {
        CLOSE: { target: 'stopping', description: 'Stop every child gracefully (shutdownOrder), then end normally.' },
        START_CHILD: { actions: 'startChild' },
        TERMINATE_CHILD: { actions: 'terminateChild' },
        RESTART_CHILD: { actions: 'restartChildNow', description: 'restartChild(id): stop, start at once; no backoff, not counted.' },
        TIMER: { actions: 'fireTimer', description: 'A restart delay elapsed (the group starts) or a child ignored CLOSE past its shutdownMs.' },
        [CHILD_DONE]: onChildExit,
        [CHILD_ERROR]: onChildExit,
      },
    },
    stopping: ending('stopped'),
    failing: ending('failed'),
    stopped: { type: 'final', description: 'Output { reason: "shutdown", uptimeMs } (a normal exit).' },
    failed: {
      type: 'final',
      description: 'Output { reason: "restart-intensity", error, child, restarts, uptimeMs }: its parent reads an abnormal exit.',
    },
  },
});
