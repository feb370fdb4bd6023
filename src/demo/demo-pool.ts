/**
 * The demo's pool: `users` concurrent clients each doing request after request through
 * `pool.use()`, so the faults show up where an application feels them — acquire waits,
 * timeouts, failed requests — next to the pool's gauges (HikariCP's active/idle/pending).
 */
import type { Runtime } from '../runtime.js';
import type { Pool } from '../pool/pool.js';
import type { WireSession } from '../transport/wire-session.js';
import { wire } from '../transport/wire.js';
import { exponentialBackoff } from '../supervisor/backoff.js';
import { WirewardenError } from '../errors.js';

export interface DemoPool {
  gauges(): string;
  stop(): Promise<void>;
  readonly ok: number;
  readonly failed: Readonly<Record<string, number>>;
}

export function startDemoPool(rt: Runtime, port: number, users = 8): DemoPool {
  const pool: Pool<WireSession> = rt.createPool<WireSession>({
    id: 'pool',
    endpoints: [{ host: '127.0.0.1', port }],
    protocol: wire(),
    min: 2,
    max: 4,
    acquireTimeoutMs: 500,
    maxWaiting: 64,
    heartbeat: { intervalMs: 1000, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 },
    connectTimeoutMs: 1000,
    handshakeTimeoutMs: 1000,
    backoff: exponentialBackoff({ initialMs: 200, maxMs: 2000, multiplier: 2, jitter: 'phased' }),
  });
  let ok = 0;
  const failed: Record<string, number> = {};
  let running = true;
  let wake: (() => void) | undefined;

  async function user(n: number): Promise<void> {
    let i = 0;
    while (running) {
      try {
        await pool.use((conn) => conn.request({ user: n, i: i++ }, { timeoutMs: 500 }));
        ok++;
      } catch (err) {
        const code = err instanceof WirewardenError ? err.code : 'other';
        failed[code] = (failed[code] ?? 0) + 1;
        if (!running) return;
      }
      // ~20 requests/s per user; the pause also keeps a failing user from spinning.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  const loops = Array.from({ length: users }, (_, n) => user(n));
  return {
    get ok() {
      return ok;
    },
    failed,
    gauges() {
      const s = pool.stats();
      const f = Object.entries(failed).map(([c, k]) => `${c}×${k}`).join(' ') || '0';
      return `pool open ${s.open} leased ${s.leased} idle ${s.idle} pending ${s.pending} waiting ${s.waiting} timeouts ${s.timeouts} | requests ok ${ok} failed ${f}`;
    },
    async stop() {
      running = false;
      wake?.();
      await pool.close();
      await Promise.allSettled(loops);
    },
  };
}
