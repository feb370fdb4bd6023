/**
 * One connection of the simulated network: a client socket, a server socket, and one
 * `ToxicPipeline` per direction between them — the same pipeline and toxics the chaos
 * proxy runs, on the network's (virtual) scheduler.
 *
 *   client ──write──▶ [upstream pipeline]   ──deliver──▶ server
 *   client ◀─deliver── [downstream pipeline] ◀──write─── server
 *
 * Closing follows the chaos proxy (and Toxiproxy) so that a scenario behaves the same in
 * both modes: no half-close. When one direction ends (its writer ended or was destroyed,
 * or a toxic closed it), the reader of that direction gets its FIN behind the data before
 * it, the opposite direction is finished too and lets out what it holds; once both ended,
 * both sockets are destroyed as soon as they have finished writing. A reset (the
 * `reset_peer` toxic) destroys both sockets with `ECONNRESET` at once; `destroy()` (a cut)
 * closes both without an error.
 */
import type { SchedulerLike } from 'rxjs';
import { ToxicPipeline } from './toxic-pipeline.js';
import type { ToxicEntry } from './toxic-spec.js';
import type { FrameInspector, ToxicStream } from './toxic-types.js';
import { SimulatedSocket } from './simulated-socket.js';

/** What a connection needs from its link. */
export interface SimulatedConnectionHost {
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly frames: FrameInspector;
  toxics(): readonly ToxicEntry[];
  /** A toxic threw; the connection is already destroyed. */
  toxicFailed(err: unknown): void;
  /** Both sockets are destroyed: the connection is gone. */
  closed(conn: SimulatedConnection): void;
}

export interface SimulatedEndpoints {
  readonly client: { host: string; port: number };
  readonly server: { host: string; port: number };
}

/** One connection through the simulated network: a client socket, a server socket and the link between. */
export class SimulatedConnection {
  readonly client: SimulatedSocket;
  readonly server: SimulatedSocket;
  readonly #host: SimulatedConnectionHost;
  readonly #up: ToxicPipeline;
  readonly #down: ToxicPipeline;
  #finished = false;
  #gone = false;

  constructor(endpoints: SimulatedEndpoints, host: SimulatedConnectionHost) {
    this.#host = host;
    this.client = new SimulatedSocket(endpoints.server, {
      write: (chunk) => this.#up.write(chunk),
      end: () => this.#up.end(),
      destroyed: () => this.#socketGone(),
    });
    this.server = new SimulatedSocket(endpoints.client, {
      write: (chunk) => this.#down.write(chunk),
      end: () => this.#down.end(),
      destroyed: () => this.#socketGone(),
    });
    this.#up = this.#pipeline('upstream', this.server);
    this.#down = this.#pipeline('downstream', this.client);
    for (const entry of host.toxics()) this.attach(entry);
  }

  attach(entry: ToxicEntry): void {
    this.#direction(entry.stream).attach(entry);
  }

  update(entry: ToxicEntry): void {
    this.#direction(entry.stream).update(entry);
  }

  detach(entry: ToxicEntry): void {
    this.#direction(entry.stream).detach(entry.name);
  }

  /** Closes both sockets now, dropping what the toxics hold (the proxy's cut). */
  destroy(): void {
    this.#stop();
    this.client.destroy();
    this.server.destroy();
  }

  /** Aborts both sockets with `ECONNRESET`. */
  reset(): void {
    this.#stop();
    this.client.reset();
    this.server.reset();
  }

  #direction(stream: ToxicStream): ToxicPipeline {
    return stream === 'upstream' ? this.#up : this.#down;
  }

  #pipeline(stream: ToxicStream, reader: SimulatedSocket): ToxicPipeline {
    const host = this.#host;
    return new ToxicPipeline({
      stream,
      scheduler: host.scheduler,
      random: host.random,
      frames: host.frames,
      sink: {
        write: (chunk) => reader.deliver(chunk),
        end: () => {
          reader.deliverEnd();
          this.#directionEnded(stream);
        },
      },
      onReset: () => this.reset(),
      onReply: (frame) => (stream === 'upstream' ? this.#down : this.#up).inject(frame),
      onError: (err) => {
        this.destroy();
        host.toxicFailed(err);
      },
    });
  }

  #directionEnded(stream: ToxicStream): void {
    // No half-close: the reader of the ended direction is done writing too.
    (stream === 'upstream' ? this.#down : this.#up).end();
    if (!this.#up.ended || !this.#down.ended || this.#finished) return;
    this.#finished = true;
    this.#up.dispose();
    this.#down.dispose();
    for (const socket of [this.client, this.server]) {
      if (socket.destroyed) continue;
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
      socket.end();
    }
  }

  /** One socket went away: its direction's input ends; both gone → the connection is. */
  #socketGone(): void {
    if (this.client.destroyed) this.#up.end();
    if (this.server.destroyed) this.#down.end();
    if (this.client.destroyed && this.server.destroyed && !this.#gone) {
      this.#gone = true;
      this.#stop();
      this.#host.closed(this);
    }
  }

  #stop(): void {
    this.#finished = true;
    this.#up.dispose();
    this.#down.dispose();
  }
}
