/**
 * One proxied connection: the client socket, the upstream socket, and a toxic pipeline
 * per direction between them.
 *
 *   client ──data──▶ [upstream pipeline] ──▶ upstream socket
 *   client ◀──────── [downstream pipeline] ◀──data── upstream socket
 *
 * Closing follows Toxiproxy, which has no half-close: when one direction's pipeline
 * ends (its source sent FIN or failed, or a toxic closed it), the proxy ends that
 * direction's destination and treats the opposite source as finished too; the opposite
 * pipeline then lets out what it still holds (a latency queue is delivered, not dropped)
 * and ends in turn. Once both directions have ended and flushed, both sockets are
 * destroyed. Sockets use `allowHalfOpen` so that Node does not end them behind our back
 * while delayed data is still on its way.
 *
 * Back-pressure: a source is paused while its direction holds more than
 * `maxBufferedBytes` (inside toxics plus the destination's write buffer), and resumed
 * below half of it — a slow or throttled peer cannot make the proxy buffer without bound.
 *
 * No exception escapes a socket handler: toxic failures come back through the
 * pipeline's `onError` and destroy only this connection.
 */
import { connect, type Socket } from 'node:net';
import type { SchedulerLike } from 'rxjs';
import { scheduleOnce } from '../scheduler.js';
import type { HostPort } from './host-port.js';
import { ToxicPipeline } from './toxic-pipeline.js';
import type { ToxicEntry } from './toxic-spec.js';
import type { FrameInspector, ToxicStream } from './toxic-types.js';

/** What a connection needs from its proxy. */
export interface ConnectionHost {
  readonly upstream: HostPort;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly frames: FrameInspector;
  readonly connectTimeoutMs: number;
  readonly maxBufferedBytes: number;
  toxics(): readonly ToxicEntry[];
  countBytes(stream: ToxicStream, bytes: number): void;
  toxicFailed(err: unknown): void;
}

interface Direction {
  readonly stream: ToxicStream;
  readonly source: Socket;
  readonly dest: Socket;
  readonly pipeline: ToxicPipeline;
  pausedByUs: boolean;
}

export class ChaosConnection {
  readonly #host: ConnectionHost;
  readonly #client: Socket;
  #upstream: Socket | undefined;
  #up: Direction | undefined;
  #down: Direction | undefined;
  #cancelDial: (() => void) | undefined;
  #finished = false;
  #upstreamClosed: Promise<void> = Promise.resolve();
  /** Resolves once the client socket and the upstream socket (if any) are both closed. */
  readonly closed: Promise<void>;

  constructor(client: Socket, host: ConnectionHost) {
    this.#host = host;
    this.#client = client;
    // Until the upstream answers, nothing is read from the client (`pauseOnConnect`).
    client.on('error', () => this.#sourceFailed(client));
    let clientClosed!: () => void;
    const clientDone = new Promise<void>((resolve) => (clientClosed = resolve));
    client.once('close', () => {
      clientClosed();
      this.#sourceFailed(client);
    });
    this.closed = clientDone.then(() => this.#upstreamClosed);
  }

  /** Dials the upstream; on failure the client is closed, as Toxiproxy does. */
  start(): void {
    const { host, port } = this.#host.upstream;
    let upstream: Socket;
    try {
      upstream = connect({ host, port, allowHalfOpen: true, noDelay: true });
    } catch {
      this.destroy();
      return;
    }
    this.#upstream = upstream;
    this.#upstreamClosed = new Promise((resolve) => upstream.once('close', () => resolve()));
    upstream.on('error', () => (this.#up ? this.#sourceFailed(upstream) : this.destroy()));
    upstream.once('close', () => this.#sourceFailed(upstream));
    // net has no connect timeout of its own; the scheduler keeps it testable.
    this.#cancelDial = scheduleOnce(this.#host.scheduler, this.#host.connectTimeoutMs, () => this.destroy());
    upstream.once('connect', () => {
      this.#cancelDial?.();
      this.#cancelDial = undefined;
      if (this.#client.destroyed) {
        upstream.destroy();
        return;
      }
      this.#wire(upstream);
    });
  }

  /** Adds a toxic to the matching direction (rolls its toxicity for this connection). */
  attach(entry: ToxicEntry): void {
    this.#direction(entry.stream)?.pipeline.attach(entry);
  }

  update(entry: ToxicEntry): void {
    this.#direction(entry.stream)?.pipeline.update(entry);
  }

  detach(entry: ToxicEntry): void {
    this.#direction(entry.stream)?.pipeline.detach(entry.name);
  }

  /** Closes both sockets now (FIN, or RST if unread data remains), dropping held data. */
  destroy(): void {
    this.#stop();
    this.#client.destroy();
    this.#upstream?.destroy();
  }

  /** Aborts both sockets with a TCP RST. */
  reset(): void {
    this.#stop();
    for (const socket of [this.#client, this.#upstream]) {
      if (socket && !socket.destroyed) socket.resetAndDestroy();
    }
  }

  #stop(): void {
    this.#finished = true;
    this.#cancelDial?.();
    this.#cancelDial = undefined;
    this.#up?.pipeline.dispose();
    this.#down?.pipeline.dispose();
  }

  #direction(stream: ToxicStream): Direction | undefined {
    return stream === 'upstream' ? this.#up : this.#down;
  }

  #wire(upstream: Socket): void {
    const client = this.#client;
    this.#up = this.#makeDirection('upstream', client, upstream);
    this.#down = this.#makeDirection('downstream', upstream, client);
    for (const entry of this.#host.toxics()) this.attach(entry);
    for (const dir of [this.#up, this.#down]) {
      dir.source.on('data', (chunk: Buffer) => {
        dir.pipeline.write(chunk);
        this.#applyPressure(dir);
      });
      dir.source.once('end', () => dir.pipeline.end());
      dir.dest.on('drain', () => this.#relievePressure(dir));
    }
    client.resume();
  }

  #makeDirection(stream: ToxicStream, source: Socket, dest: Socket): Direction {
    const host = this.#host;
    const dir: Direction = {
      stream, source, dest, pausedByUs: false,
      pipeline: new ToxicPipeline({
        stream,
        scheduler: host.scheduler,
        random: host.random,
        frames: host.frames,
        sink: {
          write: (chunk) => {
            if (dest.destroyed || dest.writableEnded) return;
            host.countBytes(stream, chunk.length);
            dest.write(chunk);
            this.#relievePressure(dir);
          },
          end: () => {
            if (!dest.destroyed && !dest.writableEnded) dest.end();
            this.#directionEnded(dir);
          },
        },
        onReset: () => this.reset(),
        onReply: (frame) => (stream === 'upstream' ? this.#down : this.#up)?.pipeline.inject(frame),
        onError: (err) => {
          this.destroy();
          host.toxicFailed(err);
        },
      }),
    };
    return dir;
  }

  /** A source errored or closed: for its pipeline that is the end of input. */
  #sourceFailed(socket: Socket): void {
    if (socket === this.#client) this.#up?.pipeline.end();
    else if (this.#up) this.#down?.pipeline.end();
    if (!this.#up && socket === this.#client) this.destroy();
  }

  #directionEnded(dir: Direction): void {
    // Toxiproxy closes the destination fully, so the opposite direction's source is done.
    const other = dir === this.#up ? this.#down : this.#up;
    other?.pipeline.end();
    if (!this.#up?.pipeline.ended || !this.#down?.pipeline.ended || this.#finished) return;
    this.#finished = true;
    this.#up.pipeline.dispose();
    this.#down.pipeline.dispose();
    for (const socket of [this.#client, this.#upstream!]) {
      if (socket.destroyed) continue;
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    }
  }

  #applyPressure(dir: Direction): void {
    if (dir.pausedByUs || this.#buffered(dir) <= this.#host.maxBufferedBytes) return;
    dir.pausedByUs = true;
    dir.source.pause();
  }

  #relievePressure(dir: Direction): void {
    if (!dir.pausedByUs || dir.dest.writableNeedDrain || this.#buffered(dir) > this.#host.maxBufferedBytes / 2) return;
    dir.pausedByUs = false;
    if (!dir.source.destroyed) dir.source.resume();
  }

  #buffered(dir: Direction): number {
    return dir.pipeline.heldBytes + dir.dest.writableLength;
  }
}
