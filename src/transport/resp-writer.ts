/**
 * Writes encoded RESP commands to a stream; behind a slow server, commands wait in order
 * instead of failing. RESP needs no framing of ours (the frame writer's length prefix
 * would corrupt it).
 *
 *   write(command) ──▶ stream.write ──▶ socket buffer (≤ maxQueuedBytes, at least its high-water mark)
 *        │ the socket's buffer is full
 *        ▼
 *   waiting commands, in order ──'drain'──▶ stream.write …
 *
 * Trade-offs:
 * - Nothing is refused for being slow: a command past `maxQueuedBytes` waits here until
 *   the socket drains, and the caller's timeout runs meanwhile (its expiry still closes the
 *   connection). RESP matches replies by order, so a refusal would only move the failure to
 *   the caller; the waiting commands are the callers' own data, bounded by their concurrency.
 * - `maxQueuedBytes` bounds what is handed to the socket ahead of the server: the writer
 *   stops once the socket asked to wait (`write` returned false) and holds at least that
 *   many bytes; one command may overshoot it, never be split. A half-written command would
 *   make the server read the next one as its tail, and RESP cannot resynchronise.
 * - The session registers a command's reply slot when it calls `write`, waiting or not:
 *   the order of calls is the order of bytes on the wire is the order of replies.
 * - The first write of a tick corks the stream and a microtask uncorks it, so pipelined
 *   commands issued together leave in one `writev`.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError } from '../errors.js';
import type { EncodedCommand } from './resp-encoder.js';

/** @internal The outbound half of one RESP connection. */
export class RespWriter {
  readonly maxQueuedBytes: number;
  readonly #stream: Duplex;
  #queue: EncodedCommand[] = [];
  #queuedBytes = 0;
  #blocked = false;
  #corked = false;
  #ending = false;
  #disposed = false;
  #onDrain: (() => void) | undefined;

  constructor(stream: Duplex, maxQueuedBytes: number) {
    this.#stream = stream;
    this.maxQueuedBytes = maxQueuedBytes;
  }

  get writable(): boolean {
    const s = this.#stream;
    return !this.#disposed && !this.#ending && !s.destroyed && !s.writableEnded;
  }

  /** Bytes waiting for the socket to drain (not yet handed to it). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Writes one command, or queues it behind a full socket; throws `ConnectionClosedError` having written nothing. */
  write(command: EncodedCommand): void {
    if (!this.writable) throw new ConnectionClosedError('cannot send a command: the stream is closed or ending');
    if (this.#blocked) {
      this.#queue.push(command);
      this.#queuedBytes += command.bytes;
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      this.#stream.cork();
      queueMicrotask(() => {
        this.#corked = false;
        this.#stream.uncork();
      });
    }
    if (this.#full(writeCommand(this.#stream, command))) this.#block();
  }

  /** Flushes the queue, then ends the stream. */
  end(): void {
    this.#ending = true;
    if (!this.#blocked) this.#finish();
  }

  /** Drops the queue and the drain listener (the stream closed). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#onDrain) this.#stream.off('drain', this.#onDrain);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#blocked = false;
  }

  /** The socket asked to wait (`ok` false: a 'drain' will come) and holds at least `maxQueuedBytes`. */
  #full(ok: boolean): boolean {
    return !ok && this.#stream.writableLength >= this.maxQueuedBytes;
  }

  #block(): void {
    this.#blocked = true;
    this.#onDrain ??= this.#flush.bind(this);
    this.#stream.once('drain', this.#onDrain);
  }

  #flush(): void {
    if (this.#disposed) return;
    const s = this.#stream;
    if (s.destroyed || s.writableEnded) return this.dispose();
    this.#blocked = false;
    let i = 0;
    s.cork();
    while (i < this.#queue.length) {
      const command = this.#queue[i++]!;
      this.#queuedBytes -= command.bytes;
      if (this.#full(writeCommand(s, command))) {
        this.#block();
        break;
      }
    }
    this.#queue = i === this.#queue.length ? [] : this.#queue.slice(i);
    s.uncork();
    if (!this.#blocked && this.#ending) this.#finish();
  }

  #finish(): void {
    const s = this.#stream;
    if (!s.destroyed && !s.writableEnded) s.end();
  }
}

/** Every chunk of a command goes out, even after a `false`: a command must not be split. */
function writeCommand(stream: Duplex, command: EncodedCommand): boolean {
  let ok = true;
  for (const chunk of command.chunks) ok = stream.write(chunk);
  return ok;
}
