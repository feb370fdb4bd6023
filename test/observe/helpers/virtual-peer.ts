/**
 * A peer in virtual time for the metrics tests: a transport whose dial takes `dialMs`, a
 * `custom()` protocol whose handshake takes `handshakeMs` and whose probes are answered
 * after `rttMs` — or never, once the peer is `frozen`. Every delay runs on the runtime's
 * VirtualTimeScheduler, so RTTs, detection latencies and span durations are exact.
 */
import { PassThrough, type Duplex } from 'node:stream';
import { VirtualTimeScheduler } from 'rxjs';
import { createRuntime, type Runtime } from '../../../src/runtime.js';
import { custom } from '../../../src/transport/custom.js';
import type { ProtocolContext, Transport } from '../../../src/transport/types.js';
import type { Pool } from '../../../src/pool/pool.js';
import { constantBackoff } from '../../../src/supervisor/backoff.js';

export const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Advances virtual time in steps, draining microtasks between them. */
export async function advance(scheduler: VirtualTimeScheduler, ms: number, stepMs = 1): Promise<void> {
  const end = scheduler.now() + ms;
  while (scheduler.now() < end) {
    const target = Math.min(end, scheduler.now() + stepMs);
    scheduler.maxFrames = target;
    scheduler.flush();
    scheduler.frame = target;
    await drain();
  }
}

export interface PeerSession {
  readonly stream: Duplex;
  /** What the connection gave the protocol: `requestTimedOut()` reports an unanswered request. */
  readonly ctx: ProtocolContext;
}

export class VirtualPeer {
  readonly scheduler: VirtualTimeScheduler;
  dialMs = 5;
  handshakeMs = 20;
  rttMs = 3;
  frozen = false;
  /** Handshakes refused (a wrong password): the handshake rejects. */
  refusing = false;

  constructor(scheduler: VirtualTimeScheduler) {
    this.scheduler = scheduler;
  }

  readonly transport: Transport = {
    kind: 'virtual',
    dial: () => new Promise<Duplex>((resolve) => {
      this.scheduler.schedule(() => resolve(new PassThrough()), this.dialMs);
    }),
  };

  readonly protocol = custom<PeerSession>({
    open: (stream, ctx) => new Promise<PeerSession>((resolve, reject) => {
      this.scheduler.schedule(() => (this.refusing ? reject(new Error('handshake refused')) : resolve({ stream, ctx })), this.handshakeMs);
    }),
    probe: (_session, signal) => new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      if (!this.frozen) this.scheduler.schedule(() => resolve(), this.rttMs);
    }),
    close: async ({ stream }) => {
      stream.destroy();
    },
  });
}

export interface VirtualSetup {
  rt: Runtime;
  peer: VirtualPeer;
  scheduler: VirtualTimeScheduler;
  pool: Pool<PeerSession>;
}

export const HEARTBEAT = { intervalMs: 1000, minTimeoutMs: 100, maxTimeoutMs: 500 } as const;

/**
 * A runtime on virtual time with one pool of `min` connections to a virtual peer;
 * `before` runs between the two (to observe the pool from its first event).
 */
export function virtualPool(min = 1, max = min, before?: (rt: Runtime) => void): VirtualSetup {
  const scheduler = new VirtualTimeScheduler();
  const rt = createRuntime({ scheduler, random: () => 0.5, loadSource: () => 0 });
  before?.(rt);
  const peer = new VirtualPeer(scheduler);
  const pool = rt.createPool<PeerSession>({
    endpoints: [{ host: '10.0.0.1', port: 7000 }],
    protocol: peer.protocol,
    transport: peer.transport,
    min,
    max,
    heartbeat: HEARTBEAT,
    backoff: constantBackoff({ delayMs: 100 }),
    acquireTimeoutMs: 10_000,
  });
  return { rt, peer, scheduler, pool };
}

/** Shuts the runtime down in virtual time. */
export async function shutdown({ rt, scheduler }: { rt: Runtime; scheduler: VirtualTimeScheduler }): Promise<void> {
  const done = rt.shutdown();
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 400 && !settled; i++) await advance(scheduler, 50, 50);
  await done;
}
