/**
 * The connection's statechart as plain data: the states, the events that leave each one
 * and where they lead. `connectionMachine.config` is this object, which is what the
 * Stately inspector reads (`actorRef.logic.config`) to draw the diagram and highlight the
 * snapshot's `value`; a test checks that every transition the actor takes is drawn here.
 *
 * It is a description, not the implementation: the transitions themselves are the switch
 * in connection-machine.ts, written by hand because an XState-interpreted transition costs
 * ~8 µs and ~10 KB of garbage, and every idle connection takes two per heartbeat.
 */

/** One state of the chart, in XState's config shape (enough for the inspector). */
export interface ChartState {
  readonly type?: 'final';
  readonly initial?: string;
  readonly entry?: readonly string[];
  readonly on?: Readonly<Record<string, string | readonly string[]>>;
  readonly states?: Readonly<Record<string, ChartState>>;
}

export interface ConnectionChart extends ChartState {
  readonly id: 'connection';
  readonly initial: 'dialing';
  readonly states: Readonly<Record<string, ChartState>>;
}

const leave = {
  KILL: '#connection.dead',
  'ww.stream.closed': '#connection.dead',
  CLOSE: '#connection.closing',
} as const;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Targets are state paths (`ready`, `dialing.handshaking`) or `#connection.<path>`; an
 * array lists the alternatives a guard picks from (first match wins).
 */
export const connectionChart: ConnectionChart = deepFreeze({
  id: 'connection',
  initial: 'dialing',
  states: {
    dialing: {
      initial: 'connecting',
      on: { KILL: '#connection.dead', CLOSE: '#connection.closed' },
      states: {
        connecting: {
          entry: ['startDial'],
          // A connect protocol (custom({ connect })) dials and handshakes in this one step.
          on: { 'ww.dial.done': '#connection.dialing.handshaking', 'ww.connect.done': '#connection.ready', 'ww.dial.failed': '#connection.dead' },
        },
        handshaking: {
          entry: ['startHandshake'],
          // The stream exists from here on; losing it now is a failed handshake.
          on: { 'ww.handshake.done': '#connection.ready', 'ww.handshake.failed': '#connection.dead', 'ww.stream.closed': '#connection.dead' },
        },
      },
    },
    ready: { entry: ['armHeartbeat'], on: { ...leave, 'ww.heartbeat.idle': '#connection.probing', 'ww.request.timedout': '#connection.suspect' } },
    probing: {
      entry: ['startProbe'],
      on: {
        ...leave,
        'ww.probe.ok': '#connection.ready',
        'ww.probe.alive': '#connection.ready',
        'ww.probe.failed': ['#connection.dead', '#connection.suspect'],
      },
    },
    suspect: {
      entry: ['startProbe'],
      on: {
        ...leave,
        'ww.probe.ok': '#connection.ready',
        'ww.probe.alive': '#connection.ready',
        'ww.probe.failed': ['#connection.dead', '#connection.suspect'],
      },
    },
    closing: {
      entry: ['quiesce', 'startClose'],
      on: { KILL: '#connection.dead', 'ww.stream.closed': '#connection.closed', 'ww.close.done': '#connection.closed' },
    },
    dead: { type: 'final', entry: ['quiesce', 'settle'] },
    closed: { type: 'final' },
  },
});
