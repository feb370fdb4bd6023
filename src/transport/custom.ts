/**
 * `custom({ open, probe, reset?, close })`: supervise any client library. `open` turns the
 * dialed stream into the library's session (and performs its handshake), `probe` resolves
 * when the peer answered, `reset` (optional) restores a session between leases, `close`
 * ends it gracefully. The functions are checked once, at construction, so a typo fails
 * where it is written rather than at the first dial.
 */
import { func, optional, parseOptions, shape } from '../options.js';
import type { Protocol, ProtocolContext } from './types.js';
import type { Duplex } from 'node:stream';

export interface CustomProtocolOptions<S> {
  /** Handshake: resolve with the session once the peer is usable. Honour `ctx.signal`. */
  readonly open: (stream: Duplex, ctx: ProtocolContext) => Promise<S>;
  /** Resolve when the peer answered; the caller aborts `signal` on timeout. */
  readonly probe: (session: S, signal: AbortSignal) => Promise<void>;
  /** Optional: restore the session for the next lease (e.g. `RESET`, `DISCARD`). */
  readonly reset?: (session: S) => Promise<void>;
  /** Graceful close. */
  readonly close: (session: S) => Promise<void>;
}

const customSchema = shape({
  open: func(),
  probe: func(),
  reset: optional(func()),
  close: func(),
});

/**
 * A protocol from four functions.
 *
 * @example
 * const protocol = custom({
 *   open: async (stream, { signal }) => {
 *     const client = new LineClient(stream);
 *     await client.hello({ signal });
 *     return client;
 *   },
 *   probe: (client, signal) => client.ping({ signal }),
 *   close: (client) => client.quit(),
 * });
 */
export function custom<S>(options: CustomProtocolOptions<S>): Protocol<S> {
  const o = parseOptions('custom', customSchema, options) as unknown as CustomProtocolOptions<S>;
  const protocol: Protocol<S> = {
    name: 'custom',
    open: (stream, ctx) => o.open(stream, ctx),
    probe: (session, signal) => o.probe(session, signal),
    close: (session) => o.close(session),
  };
  if (o.reset) {
    const reset = o.reset;
    protocol.reset = (session) => reset(session);
  }
  return Object.freeze(protocol);
}
