/**
 * `offloaded(value)`: a wire server handler's way to ask for its reply to go out as a
 * PACKED frame, the counterpart of `session.request(payload, { offload: true })` on the
 * client. A handler's only output is its return value, so the request is a wrapper
 * around that value rather than an option.
 *
 * The reply is still encoded on the server's main thread (framing-pool.ts says why); what
 * the wrapper buys is a self-contained frame that the client may decode on its framing
 * pool. Use it for big replies: a small PACKED frame costs a few bytes more than an
 * ordinary one and gains nothing.
 */

/** A reply marked for a PACKED frame; built by `offloaded`. */
export class OffloadedReply<T = unknown> {
  readonly value: T;

  /** @internal use `offloaded(value)`. */
  constructor(value: T) {
    this.value = value;
  }
}

/**
 * Marks a handler's reply to be sent as a PACKED frame.
 *
 * @example
 * const server = createWireServer({
 *   handler: async (req) => (isExport(req) ? offloaded(await loadRows()) : { ok: true }),
 * });
 */
export function offloaded<T>(value: T): OffloadedReply<T> {
  return new OffloadedReply(value);
}
