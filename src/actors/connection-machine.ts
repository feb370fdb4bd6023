/**
 * `connectionMachine`: one network connection as an XState v5 machine.
 *
 *                  ┌───────── reply, or inbound traffic ─────────┐
 *                  ▼                                              │
 *   dialing ────▶ ready ──── tick without traffic ────▶ probing ──┤
 *   connecting      ▲                                      │ no reply
 *   → handshaking   └──── one success (false suspicion) ── suspect ◀┘ (up to suspectProbes,
 *      │                                                   │          longer each time)
 *      │ dial / handshake failed     stream end, KILL      │ all failed
 *      └───────────────────────────▶ dead (final) ◀────────┘
 *
 *   CLOSE: dialing → closed;  ready | probing | suspect → closing → closed (final)
 *   KILL { reason }: any non-final state → dead
 *
 * The machine never retries: dying is its error handling, the supervisor restarts it.
 * Final output: `{ reason, error?, uptimeMs }` (`closed` is a normal exit).
 *
 * Trade-offs, so that 10k idle connections stay cheap and the data path stays off the
 * mailbox:
 * - No XState event per frame. Inbound traffic only bumps a counter (`markAlive`); the
 *   heartbeat tick compares it. Only state changes are events.
 * - The heartbeat ticker (`ready`) and the probes (`probing`, `suspect`) are armed by
 *   entry actions rather than invoked actors: no child actor while connected; see
 *   connection-resources.ts. Only the one-shot dial, handshake and close are invoked.
 *   Stopping the actor from outside skips actions, so the live half also disposes
 *   itself when the actor completes, errors or stops.
 * - The heartbeat path (ready → probing → ready, every interval on every idle
 *   connection) is as lean as XState allows, because each transition costs ~5 µs and
 *   ~10 KB of short-lived allocations no matter what: one `assign` (each one clones the
 *   snapshot) and one side effect per transition, no exit actions (the tick that leads
 *   to `probing` has fired, the probe that leads back has settled; `closing` and `dead`
 *   run `quiesce` instead), no eventless transitions, no nesting on that path.
 * - Timers run on the injected RxJS scheduler, never XState `after` (which is not
 *   re-armed on restore, statelyai/xstate#5331, and would need `clockFromScheduler`).
 *   A connection is not restorable anyway: its socket does not survive persistence.
 * - Context is plain data (health figures, counters, endpoint without secrets,
 *   timestamps); streams, sessions and the protocol live in `liveConnection(ref)`.
 *
 * Services (scheduler, random, loadSource) come from the input when given, else from the
 * runtime the actor runs in (`servicesOf(self.system)`).
 */
import { assign, setup } from 'xstate';
import { servicesOf } from '../services.js';
import { lengthenIntervalMs, shortenIntervalMs } from './adaptive-interval.js';
import { closeActor, dialActor, handshakeActor } from './connection-actors.js';
import { parseConnectionInput } from './connection-input.js';
import type {
  ConnectionCommand, ConnectionContext, ConnectionInput, ConnectionOutput, DeadReason, PlainEndpoint,
} from './connection-types.js';
import { ConnectionResources, HEARTBEAT_IDLE, resourcesOf, type ProbeEvent } from './connection-resources.js';
import type { StreamEndReason } from './death-error.js';
import { retransmitTimeoutMs, suspectTimeoutMs, updateRttEstimate } from './rtt-estimator.js';

/** Internal events: sent by the live half and the invoked actors, never per frame. */
export type ConnectionInternalEvent =
  | typeof HEARTBEAT_IDLE
  | { type: 'ww.stream.closed'; reason: StreamEndReason }
  | ProbeEvent;

export type ConnectionEvent = ConnectionCommand | ConnectionInternalEvent;

function nowOf(self: Parameters<typeof resourcesOf>[0]): number {
  return resourcesOf(self)?.scheduler.now() ?? Date.now();
}

function plainEndpoint(e: { host?: string; port?: number; path?: string }): PlainEndpoint {
  return e.path !== undefined ? { path: e.path } : { host: e.host ?? '127.0.0.1', port: e.port };
}

const die = (reason: DeadReason) => ({ type: 'setReason', params: { reason } }) as const;

/**
 * The connection actor logic. Spawn it under a supervisor (or `createActor` it) with a
 * {@link ConnectionInput}; watch snapshots for state changes; send `CLOSE` or `KILL`.
 *
 * @example
 * const actor = createActor(connectionMachine, {
 *   input: { endpoint: { host: '127.0.0.1', port: 7000 }, protocol: wire({ token }), heartbeat: { intervalMs: 1000 } },
 * });
 * actor.subscribe({ next: (s) => console.log(connectionState(s)), error: console.error });
 * actor.start();
 * // later
 * actor.send({ type: 'CLOSE' });
 */
export const connectionMachine = setup({
  types: {} as {
    context: ConnectionContext;
    events: ConnectionEvent;
    input: ConnectionInput;
    output: ConnectionOutput;
  },
  actors: { dial: dialActor, handshake: handshakeActor, close: closeActor },
  actions: {
    stamp: assign(({ self }) => ({ since: nowOf(self) })),
    markReady: assign(({ context, self }) => {
      const now = nowOf(self);
      return { since: now, readyAt: context.readyAt ?? now };
    }),
    armHeartbeat: ({ context, self }) => resourcesOf(self)?.armHeartbeat(context.intervalMs),
    // Off the heartbeat path: the ticker and the probe stop when the connection leaves
    // for `closing` or a final state (dispose covers an outside stop).
    quiesce: ({ self }) => resourcesOf(self)?.quiesce(),
    enterProbing: assign(({ context, self }) => ({
      since: nowOf(self),
      probesSent: context.probesSent + 1,
      suspectAttempt: 0,
      attemptTimeoutMs: context.probeTimeoutMs,
    })),
    enterSuspect: assign(({ context, self }) => ({
      since: nowOf(self),
      probesSent: context.probesSent + 1,
      suspectAttempt: context.suspectAttempt + 1,
      attemptTimeoutMs: suspectTimeoutMs(
        context.attemptTimeoutMs, context.heartbeat.suspectBackoffMultiplier, context.heartbeat.maxTimeoutMs),
    })),
    startProbe: ({ context, self }) => resourcesOf(self)?.startProbe(context.attemptTimeoutMs),
    countFailure: assign(({ context }) => ({ probesFailed: context.probesFailed + 1 })),
    // One assign per return to `ready` (estimator, timeout, interval, `since`, and the
    // false-suspicion bookkeeping from `suspect`): every assign clones the snapshot.
    backToReady: assign(({ context, event, self }, params: { fromSuspect: boolean }) => {
      const hb = context.heartbeat;
      let { intervalMs } = context;
      if (params.fromSuspect && hb.adaptive) intervalMs = shortenIntervalMs(intervalMs, hb.minIntervalMs);
      const since = nowOf(self);
      const falseSuspicions = params.fromSuspect ? context.falseSuspicions + 1 : context.falseSuspicions;
      if (event.type !== 'ww.probe.ok') return { since, falseSuspicions, suspectAttempt: 0, intervalMs };
      const prev = context.srttMs === undefined || context.rttvarMs === undefined
        ? undefined : { srttMs: context.srttMs, rttvarMs: context.rttvarMs };
      const est = updateRttEstimate(prev, event.rttMs);
      return {
        since,
        falseSuspicions,
        suspectAttempt: 0,
        rttMs: event.rttMs,
        srttMs: est.srttMs,
        rttvarMs: est.rttvarMs,
        probeTimeoutMs: retransmitTimeoutMs(est, hb),
        // Lengthened only from `probing`: a false suspicion never lengthens it.
        intervalMs: !params.fromSuspect && hb.adaptive ? lengthenIntervalMs(intervalMs, est, hb.maxIntervalMs) : intervalMs,
      };
    }),
    setReason: assign((_, params: { reason: DeadReason | 'closed' }) => ({ reason: params.reason })),
    reasonFromEvent: assign(({ event }) =>
      event.type === 'KILL' || event.type === 'ww.stream.closed' ? { reason: event.reason } : {}),
    settle: ({ context, event, self }) => resourcesOf(self)?.settle(context, event as { type: string; error?: unknown }),
  },
  guards: {
    noSuspectProbes: ({ context }) => context.heartbeat.suspectProbes === 0,
    suspectExhausted: ({ context }) => context.suspectAttempt >= context.heartbeat.suspectProbes,
  },
}).createMachine({
  id: 'connection',
  context: ({ input, self }) => {
    const parsed = parseConnectionInput(input);
    const services = servicesOf(self.system);
    const endpoint = plainEndpoint(parsed.endpoint);
    const scheduler = parsed.scheduler ?? services.scheduler;
    const live = new ConnectionResources(self, parsed, input.endpoint, scheduler, parsed.random ?? services.random,
      parsed.loadSource ?? services.loadSource);
    // Exit actions do not run when an actor is stopped from outside; completion and
    // errors reach observers in every case, so the live half cleans up from there.
    if (typeof self.subscribe === 'function') self.subscribe(live);
    const hb = parsed.heartbeat;
    const now = scheduler.now();
    return {
      endpoint,
      protocol: typeof parsed.protocol.name === 'string' ? parsed.protocol.name : 'custom',
      heartbeat: hb,
      startedAt: now,
      readyAt: undefined,
      since: now,
      rttMs: undefined,
      srttMs: undefined,
      rttvarMs: undefined,
      probeTimeoutMs: hb.maxTimeoutMs,
      intervalMs: hb.intervalMs,
      probesSent: 0,
      probesFailed: 0,
      falseSuspicions: 0,
      suspectAttempt: 0,
      attemptTimeoutMs: hb.maxTimeoutMs,
      reason: undefined,
    };
  },
  initial: 'dialing',
  on: {
    KILL: { target: '.dead', actions: 'reasonFromEvent' },
    CLOSE: { target: '.closing' },
    'ww.stream.closed': { target: '.dead', actions: 'reasonFromEvent' },
  },
  states: {
    dialing: {
      initial: 'connecting',
      on: {
        CLOSE: { target: 'closed' },
        'ww.stream.closed': { target: 'dead', actions: die('handshake-failed') },
      },
      states: {
        connecting: {
          invoke: {
            src: 'dial',
            input: ({ self }) => ({ owner: self }),
            onDone: { target: 'handshaking' },
            onError: { target: '#connection.dead', actions: die('dial-failed') },
          },
        },
        handshaking: {
          invoke: {
            src: 'handshake',
            input: ({ self }) => ({ owner: self }),
            onDone: { target: '#connection.ready', actions: 'markReady' },
            onError: { target: '#connection.dead', actions: die('handshake-failed') },
          },
        },
      },
    },
    // The heartbeat path (ready → probing → ready) is two transitions with one assign and
    // one side effect each, and no exit actions: see the module doc.
    ready: {
      entry: 'armHeartbeat',
      on: { 'ww.heartbeat.idle': { target: 'probing' } },
    },
    probing: {
      entry: ['enterProbing', 'startProbe'],
      on: {
        'ww.probe.ok': { target: 'ready', actions: { type: 'backToReady', params: { fromSuspect: false } } },
        'ww.probe.alive': { target: 'ready', actions: { type: 'backToReady', params: { fromSuspect: false } } },
        'ww.probe.failed': [
          { guard: 'noSuspectProbes', target: 'dead', actions: ['countFailure', die('heartbeat-timeout')] },
          { target: 'suspect', actions: 'countFailure' },
        ],
      },
    },
    suspect: {
      entry: ['enterSuspect', 'startProbe'],
      on: {
        'ww.probe.ok': { target: 'ready', actions: { type: 'backToReady', params: { fromSuspect: true } } },
        'ww.probe.alive': { target: 'ready', actions: { type: 'backToReady', params: { fromSuspect: true } } },
        'ww.probe.failed': [
          { guard: 'suspectExhausted', target: 'dead', actions: ['countFailure', die('heartbeat-timeout')] },
          { target: 'suspect', reenter: true, actions: 'countFailure' },
        ],
      },
    },
    closing: {
      entry: ['quiesce', 'stamp'],
      invoke: { src: 'close', input: ({ self }) => ({ owner: self }), onDone: 'closed', onError: 'closed' },
      on: {
        CLOSE: {},
        'ww.stream.closed': { target: 'closed' },
      },
    },
    dead: {
      type: 'final',
      entry: ['quiesce', 'stamp', 'settle'],
    },
    closed: {
      type: 'final',
      entry: ['stamp', { type: 'setReason', params: { reason: 'closed' } }],
    },
  },
  output: ({ context, self }) => {
    const error = resourcesOf(self)?.finalError;
    const uptimeMs = context.readyAt === undefined ? 0 : context.since - context.readyAt;
    const reason = context.reason ?? 'closed';
    return error === undefined ? { reason, uptimeMs } : { reason, error, uptimeMs };
  },
});
