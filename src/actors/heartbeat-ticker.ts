/**
 * `HeartbeatTicker`: a connection's idle check, one tick every `intervalMs` on a grid of
 * its own. A tick that finds no inbound traffic since the previous one, no probe out and
 * the connection not held sends `ww.heartbeat.idle` (the actor then probes).
 *
 * Why this shape, for 10k idle connections: the ticker is one RxJS `SchedulerAction`
 * rescheduling itself with the ticker as its state — no closure, no event and no
 * allocation per tick (on `asyncScheduler` the same interval timer is reused). The first
 * tick is phase-jittered uniformly in [0, intervalMs) so that connections opened together
 * do not probe together; later ones keep the grid and skip while a probe is in flight.
 * Coming back from a probe only resets the traffic mark (a reply is not traffic); the
 * action is re-created only when the interval changed (adaptive heartbeat).
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import { HEARTBEAT_IDLE } from './connection-events.js';
import type { ProbeTracker } from './probe-tracker.js';
import { rethrowLater } from './rethrow-later.js';

/** What the ticker needs of its connection. */
export interface TickerHost {
  readonly owner: AnyActorRef;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly probes: ProbeTracker;
  readonly disposed: boolean;
  /** Leased by its owner, or the session has a request in flight. */
  held(): boolean;
}

function heartbeatTick(this: SchedulerAction<HeartbeatTicker>, ticker?: HeartbeatTicker): void {
  ticker?.tick(this);
}

export class HeartbeatTicker {
  readonly #host: TickerHost;
  #action: Subscription | undefined = undefined;
  #intervalMs = 0;
  /** The first tick (phase-jittered) has been scheduled once; later arms keep the grid. */
  #phased = false;
  /** The probe tracker's traffic counter at the previous tick. */
  #seen = 0;

  constructor(host: TickerHost) {
    this.#host = host;
  }

  /** True while ticking. */
  get armed(): boolean {
    return this.#action !== undefined;
  }

  /** Entering `ready`: ticks every `intervalMs` (see the module doc). */
  arm(intervalMs: number): void {
    const host = this.#host;
    this.#seen = host.probes.inbound;
    if (this.#action !== undefined && !this.#action.closed && intervalMs === this.#intervalMs) return;
    this.disarm();
    this.#intervalMs = intervalMs;
    let delayMs = intervalMs;
    if (!this.#phased) {
      this.#phased = true;
      const r = host.random();
      delayMs = r > 0 && r < 1 ? Math.floor(r * intervalMs) : 0;
    }
    this.#action = host.scheduler.schedule(heartbeatTick, delayMs, this);
  }

  disarm(): void {
    this.#action?.unsubscribe();
    this.#action = undefined;
  }

  /** @internal One tick (the scheduler action calls it). */
  tick(action: SchedulerAction<HeartbeatTicker>): void {
    // No `armed` check: on a scheduler that runs 0-delay work synchronously the first
    // tick runs inside `schedule`, before the action is stored. A disarmed ticker never
    // gets here (its action is unsubscribed).
    const host = this.#host;
    if (host.disposed) return;
    // Periodic: rescheduled from inside with the same delay, the action keeps its timer.
    action.schedule(this, this.#intervalMs);
    const probes = host.probes;
    // A probe in flight (probing, suspect) decides by itself.
    if (probes.inFlight) return;
    if (probes.inbound !== this.#seen) {
      this.#seen = probes.inbound;
      return;
    }
    // Leased, or a request out: a probe would enter the user's command stream or queue
    // behind a request (a PING inside MULTI, behind a BLPOP). The requests' own timeouts
    // are the evidence then (DESIGN, connection actor rules).
    if (host.held()) return;
    // A throw from `send` (an observer or inspector of the actor) is reported, not passed
    // to RxJS: it would unsubscribe this action, just rescheduled, while `#action` still
    // names it, and `arm` with the same interval would keep the dead action (no more ticks).
    try {
      host.owner.send(HEARTBEAT_IDLE);
    } catch (err) {
      rethrowLater(err);
    }
  }
}
