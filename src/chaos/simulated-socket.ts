/**
 * One end of an in-memory connection: a `Duplex` that hands what is written to it to the
 * network (which runs it through the toxics) and reads what the network delivers.
 *
 * It behaves like a `net.Socket` where the code above can tell: `allowHalfOpen` is false
 * (when the peer's FIN arrives, our side ends too), a destroyed socket reads nothing more,
 * and a reset destroys it with an `ECONNRESET` error. It does not model the kernel's
 * buffers: writes complete at once, so back-pressure comes from toxics only.
 */
import { Duplex } from 'node:stream';

/** What the network does with a socket's outbound side. */
export interface SimulatedSocketHooks {
  /** A chunk was written (after `write`, in order). */
  write(chunk: Buffer): void;
  /** The socket ended its writable side (a FIN). */
  end(): void;
  /** The socket was destroyed, by its owner or by the network. */
  destroyed(): void;
}

/** Created by the simulated network, one per end of a connection. */
export class SimulatedSocket extends Duplex {
  /** The peer's address, as `net.Socket` shows it (the server side sees the client's). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #hooks: SimulatedSocketHooks;

  constructor(remote: { host: string; port: number }, hooks: SimulatedSocketHooks) {
    super({ allowHalfOpen: false });
    this.remoteAddress = remote.host;
    this.remotePort = remote.port;
    this.#hooks = hooks;
  }

  /** Bytes from the network; ignored once destroyed or ended (a closed socket reads nothing). */
  deliver(chunk: Buffer): void {
    if (!this.destroyed && !this.readableEnded) this.push(chunk);
  }

  /** The peer's FIN, after everything it sent. */
  deliverEnd(): void {
    if (!this.destroyed && !this.readableEnded) this.push(null);
  }

  /** A TCP reset: the owner sees `ECONNRESET`, as from a real socket. */
  reset(): void {
    if (this.destroyed) return;
    const err = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    this.destroy(err);
  }

  override _read(): void {
    // Data is pushed as the network delivers it; there is nothing to pull.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#hooks.write(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#hooks.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#hooks.destroyed();
    callback(error);
  }
}
