/**
 * The one-shot actors a connection invokes: dial, handshake and graceful close.
 *
 * Each lives only while its state is active, so XState stops it (aborting its signal)
 * whenever the machine moves on: a `CLOSE` during `connecting` aborts the dial, a
 * handshake that completes after a KILL is dropped. They run once per connection, so an
 * invoked actor's cost (~2 KB, ~20 µs) does not matter here; the recurring heartbeat
 * work (ticker, probes) is driven by the live half instead (see live-connection.ts).
 *
 * Every deadline runs on the injected scheduler. The transports enforce
 * `connectTimeoutMs` themselves; the actor enforces it too, so that a custom transport
 * that ignores it cannot leave a connection dialing forever. Nothing here puts a stream,
 * a session or a protocol into an event: results are stored on the `ConnectionResources` and
 * the events carry plain data.
 */
import type { Duplex } from 'node:stream';
import { fromPromise, type AnyActorRef } from 'xstate';
import { AbortedError, DialFailedError, DialTimeoutError, HandshakeFailedError, WirewardenError } from '../errors.js';
import type { Endpoint, Transport } from '../transport/types.js';
import { attempt, resourcesOf, type ConnectionResources } from './connection-resources.js';

/** What every connection actor gets: the machine that owns the `ConnectionResources`. */
export interface OwnerInput {
  readonly owner: AnyActorRef;
}

function requireLive(owner: AnyActorRef): ConnectionResources {
  const live = resourcesOf(owner);
  if (live === undefined) throw new Error(`connection actor ${owner.id} has no live state`);
  return live;
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

/** `connecting`: dials the endpoint and hands the stream to the `ConnectionResources`. */
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
        // Opened too late (handshake timed out, or CLOSE/KILL/stop came first): nobody will
        // own this session, so close it here — a custom session may hold timers or handles.
        if (!finish() || live.disposed) {
          attempt(() => protocol.close(session)).catch(() => {});
          if (live.disposed) resolve();
          return;
        }
        live.session = session;
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
