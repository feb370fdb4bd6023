/**
 * The toxic contract: what a toxic is, independent of sockets.
 *
 * A toxic is a transform on one direction of a byte stream. For each connection (or
 * in-memory link) and each toxic attached to it, the pipeline creates one `ToxicStage`
 * and hands it a `ToxicContext`: chunks come in through `write`, leave through
 * `ctx.push`, and every delay goes through `ctx.schedule` (the injected RxJS scheduler).
 * Nothing here knows about `net.Socket`, so the simulated network can run the very same
 * toxics in virtual time.
 *
 *   source ──write──▶ [stage 1] ──push──▶ [stage 2] ──push──▶ sink (socket or link)
 *                      end()/close() travels the same way, after the data before it
 *
 * Trade-offs:
 * - Stages are plain objects with callbacks, not Node streams: a Transform per toxic per
 *   connection would cost an allocation-heavy stream machine for what is a few lines of
 *   queueing, and could not run on a VirtualTimeScheduler.
 * - A stage never drops data when it is replaced or removed (`flush`), as Toxiproxy's
 *   interrupt never does; only toxics whose job is to drop data drop it.
 */
import type { SchedulerLike } from 'rxjs';
import type { Checker } from '../options.js';

/** `upstream` is client → server, `downstream` is server → client (Toxiproxy's names). */
export type ToxicStream = 'upstream' | 'downstream';

/** What a frame of the wire protocol carries, as far as protocol-aware toxics care. */
export type FrameKind = 'ping' | 'pong' | 'request' | 'response' | 'other';

/**
 * Tells protocol-aware (`wire_*`) toxics what a frame is. Receives the payload only
 * (the 4-byte length prefix stripped). Must not throw for garbage: answer `'other'`.
 */
export type FrameClassifier = (payload: Buffer) => FrameKind;

/**
 * What protocol-aware toxics know about the framed protocol: how to classify a frame,
 * and optionally how to answer a request with an error (for `wire_fail_requests` in
 * `error` mode). `wireFrames` describes wirewarden's own wire protocol.
 */
export interface FrameInspector {
  readonly classify: FrameClassifier;
  /**
   * A whole frame (length prefix included) that answers the request in `payload` with an
   * error carrying `message`, or `undefined` when the request cannot be answered.
   */
  readonly errorReply?: (payload: Buffer, message: string) => Buffer | undefined;
  /**
   * Whether later frames may depend on this one to be decoded, so that it must be neither
   * dropped nor overtaken (and must not overtake): for the wire protocol, a frame that
   * defines a msgpackr record shape which later frames refer to by id. Default: never.
   * Frames classified `ping` or `pong` are taken to refer to no such state.
   */
  readonly carriesState?: (payload: Buffer) => boolean;
}

/**
 * Where a frame-aware stage starts when it attaches to a stream that is already flowing:
 * the bytes of the current frame's header seen so far, and how many body bytes of the
 * current frame are still to come. `{ header: empty, bodyRemaining: 0 }` is a boundary.
 */
export interface FramePosition {
  readonly header: Buffer;
  readonly bodyRemaining: number;
}

/** Everything a stage may use. One context per stage instance. */
export interface ToxicContext {
  readonly stream: ToxicStream;
  readonly scheduler: SchedulerLike;
  /** Uniform in [0, 1); injectable so chaos runs replay from a seed. */
  readonly random: () => number;
  /** What protocol-aware toxics know about the framed protocol. */
  readonly frames: FrameInspector;
  /** Frame position of this stage's input at the moment it attached. */
  readonly framePosition: FramePosition;
  /** Hands a chunk to the next stage (or the sink). Ignored once this stage closed. */
  push(chunk: Buffer): void;
  /**
   * Hands on a whole frame, at the next frame boundary of this stage's output: if bytes
   * of another frame are still on their way there (a frame streamed raw), it waits for
   * them. Frame-aware stages that reorder frames use this instead of `push`.
   */
  pushFrame(frame: Buffer): void;
  /** Ends this direction after everything pushed so far (a FIN, in the end). Idempotent. */
  close(): void;
  /** Aborts the whole connection with a TCP RST (both peers see `ECONNRESET`). */
  reset(): void;
  /**
   * Sends a whole frame back to the peer that wrote this stream, through the opposite
   * direction, at its next frame boundary (never inside another frame).
   */
  reply(frame: Buffer): void;
  /**
   * Runs `fn` after `delayMs` on the scheduler. Cancelled automatically when the stage is
   * replaced, removed or its connection ends; returns a cancel function. An exception in
   * `fn` kills only this connection.
   */
  schedule(delayMs: number, fn: () => void): () => void;
}

/** One toxic acting on one direction of one connection. */
export interface ToxicStage {
  /** A chunk arrived from the previous stage. */
  write(chunk: Buffer): void;
  /** The previous stage ended; the stage calls `ctx.close()` when it has let out what it holds. */
  end(): void;
  /**
   * The toxic is being replaced (update) or removed: push what it holds, now, in order.
   * Timers are cancelled by the pipeline afterwards. `final` is false only when the next
   * instance continues this one's per-connection state (an update that keeps the toxic
   * active); then a frame-aware stage may keep a partial frame in that state.
   */
  flush?(options: { readonly final: boolean }): void;
  /** Called once when the toxic is removed from a live connection, after `flush`. */
  remove?(): void;
  /** Bytes the stage currently holds (for back-pressure and `stats`). */
  readonly heldBytes?: number;
}

/**
 * A toxic type: its attribute schema (with defaults, unknown keys rejected) and a factory.
 * `createState` makes per-connection state that survives attribute updates (limit_data
 * keeps counting across an update, as Toxiproxy's stateful toxics do).
 *
 * @example
 * const noop: ToxicDefinition<{}> = {
 *   type: 'noop', description: 'passes data through',
 *   attributes: shape({}),
 *   create: (ctx) => ({ write: (c) => ctx.push(c), end: () => ctx.close() }),
 * };
 */
export interface ToxicDefinition<A extends object = object, S = unknown> {
  readonly type: string;
  /** One line for docs and `--help`. */
  readonly description: string;
  readonly attributes: Checker<A>;
  /** Cross-field checks after the schema (slicer: size_variation < average_size). Throws `InvalidOptionError`. */
  validate?(attributes: A, path: string): void;
  createState?(): S;
  create(ctx: ToxicContext, attributes: A, state: S): ToxicStage;
}

/** A toxic as Toxiproxy's API shows it. */
export interface ToxicJson {
  readonly name: string;
  readonly type: string;
  readonly stream: ToxicStream;
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** What `addToxic` accepts: Toxiproxy's toxic fields, all but `type` optional. */
export interface ToxicSpec {
  /** Default `<type>_<stream>`. */
  readonly name?: string;
  readonly type: string;
  /** Default `downstream`. */
  readonly stream?: ToxicStream;
  /** Probability that the toxic applies to a connection, in [0, 1]. Default 1. */
  readonly toxicity?: number;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** What `updateToxic` accepts: attributes are merged into the current ones. */
export interface ToxicPatch {
  readonly toxicity?: number;
  readonly attributes?: Readonly<Record<string, unknown>>;
}
