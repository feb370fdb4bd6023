/**
 * The fuzz client's side of a raw wire connection: it writes whatever bytes it is given
 * and reads the server's frames just enough to judge the server — the first frame (the
 * handshake answer), the PONG that closes a batch, how many RES/ERR came back — without
 * decoding payloads it does not need.
 */
import { connect, type Socket } from 'node:net';
import { classifyWireFrame } from '../src/chaos/wire-frames.js';
import { FrameDecoder } from '../src/transport/frame-decoder.js';
import { parsePingPayload } from '../src/transport/ping-frames.js';
import { MessageType as T } from '../src/transport/wire-messages.js';

/** One fuzz client's connection, seen from the client side. */
export class FuzzConnection {
  readonly socket: Socket;
  readonly #decoder: FrameDecoder;
  firstFrame: Buffer | undefined;
  responses = 0;
  closed = false;
  #waiting: { id: number; resolve: (answered: boolean) => void } | undefined;
  #onClosed: Array<() => void> = [];

  constructor(socket: Socket) {
    this.socket = socket;
    this.#decoder = new FrameDecoder((payload) => this.#onFrame(payload), { maxFrameBytes: 0xffffffff });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#waiting?.resolve(false);
      this.#waiting = undefined;
      for (const f of this.#onClosed.splice(0)) f();
    });
  }

  static open(port: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new FuzzConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  #onFrame(payload: Buffer): void {
    if (this.firstFrame === undefined) {
      this.firstFrame = Buffer.from(payload);
      return;
    }
    const ping = parsePingPayload(payload);
    if (ping !== undefined) {
      if (ping.type === T.PONG && this.#waiting?.id === ping.id) {
        this.#waiting.resolve(true);
        this.#waiting = undefined;
      }
      return;
    }
    if (classifyWireFrame(payload) === 'response') this.responses++;
  }

  /** Resolves true when the PONG for `id` arrives, false when the connection closes first. */
  answered(id: number, deadlineMs: number): Promise<boolean | 'timeout'> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        resolve('timeout');
      }, deadlineMs);
      this.#waiting = {
        id,
        resolve: (answered) => {
          clearTimeout(timer);
          resolve(answered);
        },
      };
    });
  }

  /** Resolves true once the socket closed, false after `deadlineMs`. */
  whenClosed(deadlineMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), deadlineMs);
      this.#onClosed.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
