/**
 * The short-lived actors a connection invokes: dial, handshake, probe and graceful close.
 *
 * Each lives only while its state is active, so XState stops it (aborting its signal and
 * running its cleanup) whenever the machine moves on: a `CLOSE` during `connecting`
 * aborts the dial, a reply that arrives after its probe timed out is dropped. That is
 * why these are invoked actors while the always-on heartbeat ticker is not (see
 * live-connection.ts): correctness for free where it matters, no per-connection cost
 * while idle.
 *
 * Every deadline runs on the injected scheduler. The transports enforce
 * `connectTimeoutMs` themselves; the actor enforces it too, so that a custom transport
 * that ignores it cannot leave a connection dialing forever. Nothing here puts a stream,
 * a session or a protocol into an event: results are stored on the `LiveConnection` and
 * the events carry plain data.
 */
import type { Duplex } from 'node:stream';
import { fromCallback, fromPromise, type AnyActorRef, type EventObject } from 'xstate';
import {
  AbortedError, DialFailedError, DialTimeoutError, HandshakeFailedError, RequestTimeoutError, WirewardenError,
} from '../errors.js';
import type { Endpoint, Transport } from '../transport/types.js';
import { liveOf, type LiveConnection } from './live-connection.js';
import { loadScaledTimeoutMs } from './rtt-estimator.js';

/** What every connection actor gets: the machine that owns the `LiveConnection`. */
export interface OwnerInput {
  readonly owner: AnyActorRef;
}

export interface ProbeInput extends OwnerInput {
  /** Base timeout before load scaling. */
  readonly timeoutMs: number;
}

/** Events the probe actor sends back (plain data). */
export type ProbeEvent =
  | { type: 'ww.probe.ok'; rttMs: number }
  | { type: 'ww.probe.alive' }
  | { type: 'ww.probe.failed' };

const PROBE_ALIVE = Object.freeze({ type: 'ww.probe.alive' as const });
const PROBE_FAILED = Object.freeze({ type: 'ww.probe.failed' as const });

function requireLive(owner: AnyActorRef): LiveConnection {
  const live = liveOf(owner);
  if (live === undefined) throw new Error(`connection actor ${owner.id} has no live state`);
  return live;
}

/** Calls `fn`, turning a synchronous throw into a rejection. */
function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

let builtins: Promise<{ tcp: Transport; unix: Transport }> | undefined;

/**
 * `tcp()` (or `unix()` for an endpoint with a `path`), loaded on first use so that the
 * actor layer does not pull in the transport layer's codecs unless it dials with them.
 */
function defaultTransport(endpoint: Endpoint): Promise<Transport> {
  builtins ??= import('../transport/index.js').then((m) => ({ tcp: m.tcp(), unix: m.unix() }));
  return builtins.then((t) => (endpoint.path !== undefined ? t.unix : t.tcp));
}

/** `connecting`: dials the endpoint and hands the stream to the `LiveConnection`. */
export const dialActor = fromPromise<void, OwnerInput>(({ input, signal }) => {
  const live = requireLive(input.owner);
  const { endpoint, connectTimeoutMs } = live;
  const controller = new AbortController();
  return new Promise<void>((resolve, reject) => {
    const timer = live.scheduler.schedule(() => {
      const err = new DialTimeoutError(`dial ${live.where} timed out after ${connectTimeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, connectTimeoutMs);
    // The machine moved on (CLOSE, KILL, stop): abort the transport, drop the deadline.
    const onStop = (): void => {
      timer.unsubscribe();
      controller.abort(new AbortedError(`dial ${live.where} aborted`, { cause: signal.reason }));
    };
    signal.addEventListener('abort', onStop, { once: true });
    const finish = (): void => {
      timer.unsubscribe();
      signal.removeEventListener('abort', onStop);
    };
    const transport = live.transport;
    const options = { connectTimeoutMs, signal: controller.signal, scheduler: live.scheduler };
    const dialing = transport
      ? attempt<Duplex>(() => transport.dial(endpoint, options))
      : defaultTransport(endpoint).then((t) => t.dial(endpoint, options));
    dialing.then(
      (stream) => {
        finish();
        // Too late (timed out, or the machine moved on): nobody will own this stream.
        if (controller.signal.aborted || live.disposed) {
          stream.on('error', () => {});
          stream.destroy();
          return;
        }
        live.attach(stream);
        resolve();
      },
      (err: unknown) => {
        finish();
        reject(err instanceof WirewardenError ? err
          : new DialFailedError(`dial ${live.where} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      },
    );
  });
});

/** `handshaking`: `protocol.open` within `handshakeTimeoutMs`; stores the session. */
export const handshakeActor = fromPromise<void, OwnerInput>(({ input, signal }) => {
  const live = requireLive(input.owner);
  const { protocol, handshakeTimeoutMs } = live;
  const stream = live.stream;
  const ctx = live.protocolContext();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const timer = live.scheduler.schedule(() => {
      settled = true;
      const err = new HandshakeFailedError(`handshake with ${live.where} timed out after ${handshakeTimeoutMs} ms`);
      live.abortSession(err);
      reject(err);
    }, handshakeTimeoutMs);
    // Stopped (CLOSE, KILL, stop): the deadline goes now, even if `open` ignores the
    // session signal (which `dispose` aborts).
    const onStop = (): void => {
      settled = true;
      timer.unsubscribe();
    };
    signal.addEventListener('abort', onStop, { once: true });
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      timer.unsubscribe();
      signal.removeEventListener('abort', onStop);
      return true;
    };
    if (stream === undefined) {
      finish();
      reject(new HandshakeFailedError(`handshake with ${live.where}: no stream`));
      return;
    }
    attempt(() => protocol.open(stream, ctx)).then(
      (session) => {
        if (!finish()) return;
        if (!live.disposed) live.session = session;
        resolve();
      },
      (err: unknown) => {
        if (!finish()) return;
        reject(err instanceof HandshakeFailedError ? err
          : new HandshakeFailedError(`handshake with ${live.where} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      },
    );
  });
});

/**
 * `probing` / `suspect`: one probe with a load-scaled timeout. A timeout or a rejected
 * probe is a failure, unless inbound traffic arrived meanwhile (counter compare), which
 * counts as liveness.
 */
export const probeActor = fromCallback<EventObject, ProbeInput>(({ input, sendBack }) => {
  const live = requireLive(input.owner);
  const { protocol, heartbeat } = live;
  const timeoutMs = loadScaledTimeoutMs(input.timeoutMs, heartbeat.eluWeight, live.loadSource());
  const controller = new AbortController();
  const startedAt = live.scheduler.now();
  const inboundAtStart = live.inbound;
  let settled = false;
  const failed = (): void => {
    sendBack(live.inbound !== inboundAtStart ? PROBE_ALIVE : PROBE_FAILED);
  };
  const timer = live.scheduler.schedule(() => {
    settled = true;
    controller.abort(new RequestTimeoutError(`probe to ${live.where} timed out after ${timeoutMs} ms`));
    failed();
  }, timeoutMs);
  attempt(() => protocol.probe(live.session, controller.signal)).then(
    () => {
      if (settled) return;
      settled = true;
      timer.unsubscribe();
      sendBack({ type: 'ww.probe.ok', rttMs: live.scheduler.now() - startedAt });
    },
    () => {
      if (settled) return;
      settled = true;
      timer.unsubscribe();
      failed();
    },
  );
  return () => {
    timer.unsubscribe();
    if (!settled) controller.abort(new AbortedError(`probe to ${live.where} cancelled`));
    settled = true;
  };
});

/** `closing`: `protocol.close` bounded by `closeTimeoutMs`; always resolves. */
export const closeActor = fromPromise<void, OwnerInput>(({ input, signal }) => {
  const live = requireLive(input.owner);
  const { protocol, closeTimeoutMs } = live;
  const session = live.session;
  return new Promise<void>((resolve) => {
    const timer = live.scheduler.schedule(() => resolve(), closeTimeoutMs);
    const done = (): void => {
      timer.unsubscribe();
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    if (session === undefined) {
      done();
      return;
    }
    attempt(() => protocol.close(session)).then(done, done);
  });
});
