/**
 * Test helpers for the transport layer: an in-memory duplex pair, virtual-time advance,
 * bounded polling for real I/O, handle counting, and a raw wire peer that speaks the
 * protocol by hand (to misbehave on purpose).
 */
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { VirtualTimeScheduler } from 'rxjs';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';

/** Two connected in-memory Duplexes (Node 20 has no `duplexPair`). */
export function duplexPair(): [Duplex, Duplex] {
  let a!: Duplex;
  let b!: Duplex;
  const make = (peer: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        const p = peer();
        if (!p.destroyed) p.destroy();
        cb(err);
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}

/** Advances a VirtualTimeScheduler by `ms`, running every action due by then. */
export function advance(scheduler: VirtualTimeScheduler, ms: number): void {
  const target = scheduler.frame + ms;
  scheduler.maxFrames = target;
  scheduler.flush();
  scheduler.frame = target;
}

/** Lets pending I/O callbacks and microtasks run (no timers, no sleeping). */
export function turn(n = 1): Promise<void> {
  return new Promise<void>((resolve) => {
    let left = n;
    const step = (): void => {
      if (--left <= 0) resolve();
      else setImmediate(step);
    };
    setImmediate(step);
  });
}

/** Polls `cond` between event-loop turns until true; fails after `timeoutMs` of real time. */
export async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await turn();
  }
}

const TRACKED = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'PipeWrap', 'PipeServerWrap', 'TLSWrap'];

/** Counts of the handle kinds a transport could leak. */
export function handleCounts(): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(TRACKED.map((k) => [k, 0]));
  for (const r of process.getActiveResourcesInfo()) if (r in out) out[r]!++;
  return out;
}

/** Waits (bounded) until the tracked handle counts are back to `baseline`. */
export async function expectHandlesBackTo(baseline: Record<string, number>): Promise<void> {
  const same = (): boolean => TRACKED.every((k) => (handleCounts()[k] ?? 0) <= (baseline[k] ?? 0));
  try {
    await waitFor(same, 'handles to be released', 3000);
  } catch {
    throw new Error(`handles left behind: ${JSON.stringify(handleCounts())} vs baseline ${JSON.stringify(baseline)}`);
  }
}

/** A hand-driven wire peer over a real socket: sends arrays, collects decoded arrays. */
export class RawPeer {
  readonly socket: Duplex;
  readonly received: unknown[] = [];
  readonly codec = new MsgpackCodec();
  closed = false;
  readonly #decoder = new FrameDecoder((f) => this.received.push(this.codec.decode(f)));

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s: Socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  send(message: unknown[]): void {
    this.socket.write(encodeFrame(this.codec.encode(message)));
  }

  /** Waits for a message whose type (first element) is `type`. */
  async next(type: number): Promise<unknown[]> {
    await waitFor(() => this.received.some((m) => Array.isArray(m) && m[0] === type), `message type ${type}`);
    const i = this.received.findIndex((m) => Array.isArray(m) && m[0] === type);
    return this.received.splice(i, 1)[0] as unknown[];
  }
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
