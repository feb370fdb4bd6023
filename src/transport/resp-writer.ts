/**
 * Writes encoded RESP commands to a stream with a bounded queue behind backpressure.
 * RESP needs no framing of ours (the frame writer's length prefix would corrupt it), only
 * the same memory bound.
 *
 *   write(command) ──▶ stream.write ──▶ ok
 *        │ the stream said "false" earlier
 *        ▼
 *   queue (≤ maxQueuedBytes) ──'drain'──▶ stream.write …      over the bound ──▶ WriteQueueFullError
 *
 * Trade-offs:
 * - A command is queued or refused as a whole, never in part: a half-written command
 *   would make the server read the next one as its tail, and RESP cannot resynchronise.
 *   A refusal throws before any byte is written, so the session's FIFO of waiting
 *   commands stays exactly the list of commands the server will answer.
 * - Once `stream.write` returns false, commands wait here rather than in the stream's
 *   own unbounded buffer: a slow server costs at most the high-water mark, one command
 *   and `maxQueuedBytes`.
 * - The first write of a tick corks the stream and a microtask uncorks it, so pipelined
 *   commands issued together leave in one `writev`.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, WriteQueueFullError } from '../errors.js';
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

  /** Bytes waiting for the stream to drain. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get writable(): boolean {
    const s = this.#stream;
    return !this.#disposed && !this.#ending && !s.destroyed && !s.writableEnded;
  }

  /** Writes or queues one command; throws `WriteQueueFullError`/`ConnectionClosedError` having written nothing. */
  write(command: EncodedCommand): void {
    if (!this.writable) throw new ConnectionClosedError('cannot send a command: the stream is closed or ending');
    if (this.#blocked) {
      if (this.#queuedBytes + command.bytes > this.maxQueuedBytes) {
        throw new WriteQueueFullError(
          `write queue full: ${this.#queuedBytes} bytes queued, a command of ${command.bytes} bytes would exceed maxQueuedBytes ${this.maxQueuedBytes}`,
        );
      }
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
    if (!writeCommand(this.#stream, command)) this.#block();
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
      if (!writeCommand(s, command)) {
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
