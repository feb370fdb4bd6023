/**
 * The bare floor for wire() request throughput: raw sockets that did the HELLO by hand
 * and then write one pre-encoded REQ frame per call, coalesced into one write per
 * event-loop turn (pipelined), and resolve callers FIFO by counting reply bytes. No ids
 * to allocate, no encoding, no decoding, no timers, no supervision: the least a
 * promise-based client of the same server can do. Every REQ carries the same id and
 * payload, so every RES has the same size (the echo server replies in order).
 */
import { connect, type Socket } from 'node:net';
import { pack } from 'msgpackr';

export function frame(value: unknown): Buffer {
  const payload = pack(value);
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

class FloorConnection {
  readonly #socket: Socket;
  readonly #req: Buffer;
  readonly #resBytes: number;
  #queued = 0;
  #flushScheduled = false;
  #waiters: (() => void)[] = [];
  #head = 0;
  #carry = 0;

  constructor(socket: Socket, req: Buffer, resBytes: number) {
    this.#socket = socket;
    this.#req = req;
    this.#resBytes = resBytes;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk.length));
  }

  request(): Promise<void> {
    this.#queued++;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flush);
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const n = this.#queued;
    this.#queued = 0;
    const len = this.#req.length;
    const out = Buffer.allocUnsafe(n * len);
    for (let i = 0; i < n; i++) this.#req.copy(out, i * len);
    this.#socket.write(out);
  };

  #onData(bytes: number): void {
    this.#carry += bytes;
    while (this.#carry >= this.#resBytes) {
      this.#carry -= this.#resBytes;
      this.#waiters[this.#head++]!();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** `connections` raw sockets to a wire server; `request(caller)` goes to socket caller mod n. */
export async function openFloor(host: string, port: number, connections: number, payload: unknown) {
  const req = frame([4, 1, payload]);
  const resBytes = frame([5, 1, payload]).length;
  const hello = frame([1, { version: 1 }]);
  const conns = await Promise.all(
    Array.from({ length: connections }, () => new Promise<FloorConnection>((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => socket.write(hello));
      // HELLO_OK is one frame; everything after it is RES frames.
      socket.once('data', () => resolve(new FloorConnection(socket, req, resBytes)));
    })),
  );
  return {
    request: (caller: number) => conns[caller % conns.length]!.request(),
    close: () => conns.forEach((c) => c.close()),
  };
}
