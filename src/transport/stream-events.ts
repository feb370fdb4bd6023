/**
 * A session's stream events, for every protocol (the wire channel, the RESP session): one
 * set of module-level listeners for every connection (no closures per connection), each
 * looking its sink up by stream.
 *
 *   'data'  ──▶ sink.receive(chunk)   a throw ──▶ sink.destroy(error)
 *   'error' ──▶ sink.recordError(err)   'end' ──▶ sink.peerEnded()   'close' ──▶ sink.finish()
 *
 * Trade-offs:
 * - Nothing thrown while handling inbound bytes escapes the 'data' listener: a bad frame or
 *   reply, an oversized length or a failing listener destroys *this* stream with that
 *   error (a thrown non-Error becomes a `ProtocolError`), which kills only this connection.
 *   `err` may come from user code: a Proxy whose `instanceof` check throws is tested safely.
 * - After `detachStreamEvents` a late 'error' from the dead socket is swallowed, never an
 *   uncaught exception.
 */
import type { Duplex } from 'node:stream';
import { ProtocolError } from '../errors.js';
import { safeInstanceOf } from './safe-instanceof.js';

/** What a session does with its stream's events. */
export interface StreamEventSink {
  /** One inbound chunk (strings arrive as Buffers). May throw: the stream is then destroyed. */
  receive(chunk: Buffer): void;
  /** The stream's 'error': the first one is the error the session reports. */
  recordError(err: Error): void;
  /** The peer finished sending ('end'). */
  peerEnded(): void;
  /** The stream closed ('close'; also run when attached to a stream already destroyed). */
  finish(): void;
  /** Destroys the stream with `error` (what `receive` threw). */
  destroy(error: Error): void;
}

const sinks = new WeakMap<Duplex, StreamEventSink>();
function onData(this: Duplex, chunk: Buffer | string): void {
  const sink = sinks.get(this);
  if (sink === undefined) return;
  try {
    sink.receive(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  } catch (err) {
    sink.destroy(safeInstanceOf(err, Error) ? err : new ProtocolError('inbound handler failed', { cause: err }));
  }
}
function onError(this: Duplex, err: Error): void {
  sinks.get(this)?.recordError(err);
}
function onEnd(this: Duplex): void {
  sinks.get(this)?.peerEnded();
}
function onClose(this: Duplex): void {
  sinks.get(this)?.finish();
}
function noop(): void {}

/** Routes `stream`'s events to `sink` until `detachStreamEvents`; a destroyed stream finishes in a microtask. */
export function attachStreamEvents(stream: Duplex, sink: StreamEventSink): void {
  sinks.set(stream, sink);
  stream.on('error', onError);
  stream.on('end', onEnd);
  stream.on('close', onClose);
  stream.on('data', onData);
  if (stream.destroyed) queueMicrotask(() => sink.finish());
}

/** Stops routing; a late 'error' from the dead socket is swallowed, never uncaught. */
export function detachStreamEvents(stream: Duplex): void {
  stream.off('data', onData);
  stream.off('end', onEnd);
  stream.off('close', onClose);
  stream.off('error', onError);
  stream.on('error', noop);
  sinks.delete(stream);
}
