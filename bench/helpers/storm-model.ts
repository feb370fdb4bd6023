/**
 * What a perfect client would do in the same storm: every child follows the backoff
 * policy exactly, dials cost nothing and fail at once while the server is down. Run with
 * the policy and the outage the benchmark measured, it separates what jitter itself does
 * to the dial rate from what a busy event loop adds. As in the supervisor, each child
 * draws one phase at its first restart and passes it on every attempt (only
 * `jitter: 'phased'` reads it).
 *
 * Why full jitter cannot be flat after a restart: the server returns while each child is
 * part-way through a delay drawn uniformly from [0, cap]. The time left is the residual
 * of that draw, whose density falls linearly from 2/cap to 0 (a long delay is more likely
 * to span the restart) — the dial rate right after the restart is the outage's rate,
 * 2N/cap per ms, twice the window's mean N/cap. A short outage leaves children on
 * different attempts (caps 400…1600 ms), which steepens the decay further.
 *
 * Why phased jitter is flat: child i fires attempt k at S(k-1) + φᵢ·cap(k), so with φ
 * uniform the population sweeps every window at a constant rate N/cap(k), and after the
 * restart each child's next dial is uniform over the rest of its window. The only steps
 * left are between windows (the rate halves when cap doubles): peak/mean ≤ 2 in theory,
 * ~1.0–1.4 in practice, and exactly 1 once the caps saturate at maxMs.
 */
import type { BackoffPolicy } from '../../src/supervisor/backoff.js';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { dialRate, type DialRate } from './storm-stats.js';

/**
 * Dial rate after the restart when all `connections` died together at 0 and the server
 * listened again at `downMs`: each child's first dial at or after `downMs` succeeds.
 */
export function modelRecovery(connections: number, policy: BackoffPolicy, downMs: number, bucketMs: number, seed = 1): DialRate {
  const random = seededRandom(seed);
  const dials: number[] = [];
  for (let i = 0; i < connections; i++) {
    let t = 0;
    let prev: number | undefined;
    const phase = random();
    for (let attempt = 1; ; attempt++) {
      prev = policy.delayMs(attempt, prev, random, phase);
      t += prev;
      if (t >= downMs) break;
    }
    dials.push(t);
  }
  return dialRate(dials, downMs, Math.max(...dials), bucketMs);
}
