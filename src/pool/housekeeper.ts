/**
 * The pool's periodic sweep: one scheduler action every `housekeepingIntervalMs`,
 * never a timer per connection or per lease (HikariCP's housekeeper, tarn's reaper).
 *
 * Each sweep, in order:
 *   1. lifetime: idle connections past their deadline are closed (`lifetime`); leased
 *      ones are left alone and closed on release (checked there), never mid-lease;
 *   2. idle: connections idle for `idleTimeoutMs` are closed (`idle`), coldest first,
 *      while the pool stays above `min`;
 *   3. leaks: a lease held for `leakDetectionMs` is reported once (event + the
 *      acquirer's stack); with `reclaimLeaked`, after a further `leakReclaimGraceMs`
 *      its connection is killed (`leak-reclaimed`) and the lease is lost;
 *   4. `min` is topped up;
 *   5. the waiter tick is stopped if nobody waits any more.
 *
 * The trade-off is resolution: idle, leak and lifetime actions run up to one interval
 * late (1 s by default, where HikariCP accepts 30 s); idle times are taken from the
 * pool's coarse clock (pool-clock.ts), so an idle close may also come up to one
 * interval early. Lifetime is checked again at acquire and release. Each sweep also
 * refreshes that coarse clock. The sweep stops itself when the pool has no connection
 * and `min` is 0, so an unused pool keeps no timer (tarn's start/stop reaping), and
 * restarts when a slot is opened.
 *
 * @example
 * const hk = new Housekeeper(scheduler, clock, options, host);
 * hk.start();   // idempotent
 * hk.stop();    // on close
 */
import type { SchedulerLike } from 'rxjs';
import { Alarm } from './alarm.js';
import type { PoolClock } from './pool-clock.js';
import type { PoolOptions } from './pool-options.js';
import type { Slot } from './slot.js';

/** What the sweep needs from the core. */
export interface HousekeepingHost<C> {
  /** Every live slot (not closing), in creation order. */
  slots(): readonly Slot<C>[];
  /** Ready + pending: what counts against `min` and `max`. */
  size(): number;
  /** Close an idle slot for `idle` or `lifetime`. */
  retireIdle(slot: Slot<C>, reason: 'idle' | 'lifetime'): void;
  reportLeak(slot: Slot<C>, leasedForMs: number): void;
  reclaimLeak(slot: Slot<C>, leasedForMs: number): void;
  /** Open slots until `min` is reached. */
  fillMin(): void;
  /** Drop timers that outlived their purpose (the waiter tick once nobody waits). */
  tidy(): void;
}

export class Housekeeper<C> {
  readonly #options: PoolOptions;
  readonly #host: HousekeepingHost<C>;
  readonly #alarm: Alarm;
  readonly #clock: PoolClock;
  #running = false;

  constructor(scheduler: SchedulerLike, clock: PoolClock, options: PoolOptions, host: HousekeepingHost<C>) {
    this.#clock = clock;
    this.#options = options;
    this.#host = host;
    this.#alarm = new Alarm(scheduler, (now) => this.#tick(now));
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#alarm.armAt(this.#clock.read() + this.#options.housekeepingIntervalMs);
  }

  stop(): void {
    this.#running = false;
    this.#alarm.cancel();
  }

  #tick(now: number): void {
    this.#clock.observe(now);
    this.sweep(now);
    if (!this.#running) return;
    if (this.#host.slots().length === 0 && this.#options.min === 0) {
      this.#running = false;
      return;
    }
    this.#alarm.armAt(now + this.#options.housekeepingIntervalMs);
  }

  /** One pass; public so that tests and `close()` can run it at a chosen time. */
  sweep(now: number): void {
    const o = this.#options;
    const host = this.#host;
    const idleExpired: Slot<C>[] = [];
    for (const slot of host.slots().slice()) {
      if (slot.state === 'idle') {
        if (now >= slot.lifetimeDeadline) host.retireIdle(slot, 'lifetime');
        else if (o.idleTimeoutMs > 0 && now - slot.lastReleasedAt >= o.idleTimeoutMs) idleExpired.push(slot);
      } else if (slot.state === 'leased' && o.leakDetectionMs > 0) {
        this.#checkLeak(slot, now);
      }
    }
    if (idleExpired.length > 0) {
      idleExpired.sort((a, b) => a.lastReleasedAt - b.lastReleasedAt);
      for (const slot of idleExpired) {
        if (host.size() <= o.min) break;
        // A leak reclaim or a lifetime close above may have changed its state.
        if (slot.state === 'idle') host.retireIdle(slot, 'idle');
      }
    }
    host.fillMin();
    host.tidy();
  }

  #checkLeak(slot: Slot<C>, now: number): void {
    const o = this.#options;
    const heldMs = now - slot.leasedAt;
    if (!slot.leakReported && heldMs >= o.leakDetectionMs) this.#host.reportLeak(slot, heldMs);
    if (o.reclaimLeaked && slot.leakReported && heldMs >= o.leakDetectionMs + o.leakReclaimGraceMs) {
      this.#host.reclaimLeak(slot, heldMs);
    }
  }
}
