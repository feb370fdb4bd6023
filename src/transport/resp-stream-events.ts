/**
 * The stream events a RESP session listens to, as shared module-level functions: one set
 * of listeners for every connection (no closures per connection), each looking its
 * session up by stream.
 *
 *   'data' ──▶ receive(chunk)     'error' ──▶ recordError(err)
 *   'end'  ──▶ peerEnded()        'close' ──▶ finish()
 */
import type { Duplex } from 'node:stream';

/** What a session does with its stream's events. */
export interface StreamEventSink {
  receive(chunk: Buffer | string): void;
  recordError(err: Error): void;
  peerEnded(): void;
  finish(): void;
}

const sinks = new WeakMap<Duplex, StreamEventSink>();
function onData(this: Duplex, chunk: Buffer | string): void {
  sinks.get(this)?.receive(chunk);
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

/** Routes `stream`'s events to `sink` until `detachStreamEvents`. */
export function attachStreamEvents(stream: Duplex, sink: StreamEventSink): void {
  sinks.set(stream, sink);
  stream.on('error', onError);
  stream.on('end', onEnd);
  stream.on('close', onClose);
  stream.on('data', onData);
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
