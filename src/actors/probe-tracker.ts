/**
 * `ProbeTracker`: a connection's evidence of liveness — the inbound-traffic counter, the
 * probe in flight and the current episode of the suspicion window — with one owner.
 *
 *   markAlive (per chunk) ──▶ inbound++ ──(probe out)──▶ one check per probe ──▶ ww.probe.alive
 *   start(timeout) ──▶ protocol.probe / probeWith ──answer──▶ ww.probe.ok { rttMs }
 *                  └─▶ deadline (probe-deadlines.ts) ──due──▶ ww.probe.failed { silentMs, windowMs, cause }
 *
 * Each outcome is one event to the connection actor, carrying what the transition needs
 * (the RTT, the silence against the window, the failure): the actor decides, the tracker
 * measures. Nothing else writes these fields.
 *
 * Costs, for 10k idle connections: a probe is the protocol's `probeWith` callback (no
 * promise at all) or its promise (one reaction, no wrapper), a pooled AbortController
 * (probe-controllers.ts) and a slot in a deadline ring shared by every probe with the same
 * timeout (probe-deadlines.ts). A generation counter drops replies that arrive after the
 * probe was cancelled or timed out — except `probeWith`'s late answer to the episode's
 * last timed-out probe, an RTT sample.
 *
 * Liveness without events: the protocol calls `markAlive()` per inbound chunk, after
 * handling it, which only bumps the counter; the ticker compares it at each tick. While a
 * probe is out, one microtask per probe checks for traffic other than the probe's reply,
 * which ends `probing` at once.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import { AbortedError, ConnectionClosedError, RequestTimeoutError, type WirewardenError } from '../errors.js';
import { preciseNow } from '../scheduler.js';
import type { AnyProtocol, ProbeListener } from '../transport/types.js';
import { PROBE_ALIVE } from './connection-events.js';
import type { ResolvedHeartbeat } from './connection-input.js';
import { returnProbeController, takeProbeController } from './probe-controllers.js';
import { probeDeadlines, type ProbeDeadlines, type ProbeOwner } from './probe-deadlines.js';
import { rethrowLater } from './rethrow-later.js';
import { loadScaledTimeoutMs } from './rtt-estimator.js';

// The counter wraps inside V8's small-integer range so that a connection receiving
// billions of chunks never turns the field into a boxed heap number.
const ALIVE_MASK = 0x3fffffff;

/** What the tracker needs of its connection. */
export interface ProbeHost {
  readonly owner: AnyActorRef;
  readonly scheduler: SchedulerLike;
  readonly protocol: AnyProtocol;
  readonly heartbeat: ResolvedHeartbeat;
  readonly loadSource: () => number;
  readonly session: unknown;
  readonly stream: Duplex | undefined;
  readonly disposed: boolean;
  readonly where: string;
  /** Leased by its owner, or the session has a request in flight. */
  held(): boolean;
}

export class ProbeTracker implements ProbeOwner, ProbeListener {
  readonly #host: ProbeHost;
  /** Bumped by `markAlive`; compared, never read as a count. */
  #inbound = 0;
  /** Identifies the probe in flight; bumped on cancel so a late reply is ignored. */
  #gen = 0;
  /** Set while a probe is in flight: the deadline list it waits in, and its handle there. */
  #deadlines: ProbeDeadlines | undefined = undefined;
  #slot = 0;
  #controller: AbortController | undefined = undefined;
  #startedAt = 0;
  #inboundAtStart = 0;
  /** The last probe that timed out in this episode, -1 if none: its late answer is an RTT sample. */
  #expiredGen = -1;
  #expiredStartedAt = 0;
  /** When the first unanswered probe of the current episode was sent (`preciseNow`). */
  #silentSinceAt = 0;
  /** The episode's suspicion window after load scaling; 0 until its first failed probe. */
  #windowMs = 0;
  /** Why the probe in flight failed before its deadline (a rejection): reported at the deadline. */
  #rejection: unknown = undefined;
  #rejected = false;
  /** A check for "traffic while probing" is queued (see `#checkAlive`). */
  #aliveCheckQueued = false;
  /**
   * A `probeWith` reply was just handled: the `markAlive` of its chunk is not traffic.
   * Cleared by `start` and `cancel` too: a custom `probeWith` may settle outside any chunk
   * (from a timer), and no `markAlive` then consumes it — the next real chunk would be
   * swallowed, and a probe out then would miss the traffic that should end it.
   */
  #replyInChunk = false;

  constructor(host: ProbeHost) {
    this.#host = host;
  }

  /** The traffic counter (the ticker compares it between ticks). */
  get inbound(): number {
    return this.#inbound;
  }

  /** A probe (or a watch, while held) is out. */
  get inFlight(): boolean {
    return this.#deadlines !== undefined;
  }

  /** The protocol handled an inbound chunk (`ProtocolContext.markAlive`). */
  markAlive(): void {
    // The chunk that carried a `probeWith` reply: already accounted for by the probe.
    if (this.#replyInChunk) {
      this.#replyInChunk = false;
      return;
    }
    this.#inbound = (this.#inbound + 1) & ALIVE_MASK;
    // A probe is out: let the chunk's own processing finish (its reply may be in it),
    // then decide. At most one check per probe.
    if (this.#deadlines !== undefined && !this.#aliveCheckQueued) {
      this.#aliveCheckQueued = true;
      // A closure per check, not one kept per connection: this path is rare (traffic
      // other than a probe's reply while the probe is out).
      if (this.#host.stream !== undefined) queueMicrotask(() => this.#checkAlive());
      // Connect mode: the library's reply reaches the probe through promise hops of its
      // own and the user's `async` probe, so a microtask would decide before the probe
      // settled and drop its RTT. The check waits for the event loop's next turn.
      else setImmediate(() => this.#checkAlive());
    }
  }

  /**
   * Sends one probe with a load-scaled timeout (never past `capMs`, the suspicion window's
   * end) and reports its outcome as one event. `newEpisode`: this probe's send time starts
   * the silence a failure is measured from. `watchIfHeld`: a held connection (leased, a
   * request out) gets no probe, only the deadline, and any inbound byte before it ends
   * the suspicion. A suspect re-entry follows a probe that already timed out, so the
   * `cancel` here is a no-op on the heartbeat path.
   */
  start(baseTimeoutMs: number, capMs: number | undefined, newEpisode: boolean, watchIfHeld: boolean): void {
    this.cancel();
    const host = this.#host;
    const gen = this.#gen;
    const scaled = loadScaledTimeoutMs(baseTimeoutMs, host.heartbeat.eluWeight, this.#load());
    const timeoutMs = capMs === undefined || scaled <= capMs ? scaled : Math.max(1, Math.ceil(capMs));
    this.#startedAt = preciseNow(host.scheduler);
    this.#inboundAtStart = this.#inbound;
    const deadlines = (this.#deadlines = probeDeadlines(host.scheduler, timeoutMs));
    this.#slot = deadlines.add(this);
    if (newEpisode) {
      this.#silentSinceAt = this.#startedAt;
      this.#windowMs = 0;
      this.#expiredGen = -1;
    }
    // A watch sends nothing, so it takes no controller (one taken here would be aborted
    // and dropped at the deadline: a pooled controller lost per watch).
    if (watchIfHeld && host.held()) return;
    const controller = (this.#controller = takeProbeController());
    const protocol = host.protocol;
    if (protocol.probeWith !== undefined) {
      // The callback form (wire()): no promise, closure or reaction per heartbeat.
      try {
        protocol.probeWith(host.session, controller.signal, this, gen);
      } catch (err) {
        this.#probeRejected(gen, err);
      }
      return;
    }
    let reply: PromiseLike<void>;
    try {
      reply = protocol.probe(host.session, controller.signal);
    } catch (err) {
      reply = Promise.reject(err as Error);
    }
    // `then` on what `probe` returned (a promise per the Protocol contract), with no
    // `Promise.resolve` wrapper: one reaction per outcome. A plain value still counts.
    if (typeof (reply as PromiseLike<void> | undefined)?.then !== 'function') reply = Promise.resolve(reply);
    reply.then(
      () => this.#probeAnswered(gen),
      (err: unknown) => this.#probeRejected(gen, err),
    );
  }

  /** Drops the probe in flight, if any: its deadline goes, its signal aborts, its reply is ignored. */
  cancel(): void {
    this.#gen++;
    this.#replyInChunk = false;
    this.#rejected = false;
    this.#rejection = undefined;
    const deadlines = this.#deadlines;
    if (deadlines === undefined) return;
    deadlines.delete(this.#slot, this);
    this.#deadlines = undefined;
    this.#dropController(new AbortedError(`probe to ${this.#host.where} cancelled`));
  }

  /**
   * The probe's deadline passed (probe-deadlines.ts removed it from its list). Traffic
   * since it was sent means alive; otherwise the failure is reported with the silence so
   * far, measured against the suspicion window — load-scaled again at each failed probe
   * and never shrunk, so a load that rises during the episode widens the window as it
   * widens the probes.
   */
  probeExpired(): void {
    const host = this.#host;
    const deadlines = this.#deadlines;
    if (host.disposed || deadlines === undefined) return;
    this.#deadlines = undefined;
    this.#expiredGen = this.#gen;
    this.#expiredStartedAt = this.#startedAt;
    // No controller: a watch of a held connection (no probe was sent), see `start`.
    const timeout = this.#controller === undefined
      ? new RequestTimeoutError(`${host.where} sent nothing within ${deadlines.timeoutMs} ms while held (watched, no probe sent)`)
      : new RequestTimeoutError(`probe to ${host.where} got no reply within ${deadlines.timeoutMs} ms`);
    const cause = this.#rejected ? this.#rejection : timeout;
    this.#rejected = false;
    this.#rejection = undefined;
    this.#dropController(timeout);
    if (this.#inbound !== this.#inboundAtStart) {
      host.owner.send(PROBE_ALIVE);
      return;
    }
    const hb = host.heartbeat;
    const windowMs = loadScaledTimeoutMs(hb.suspicionWindowMs, hb.eluWeight, this.#load());
    if (windowMs > this.#windowMs) this.#windowMs = windowMs;
    host.owner.send({ type: 'ww.probe.failed', silentMs: preciseNow(host.scheduler) - this.#silentSinceAt, windowMs: this.#windowMs, cause });
  }

  /**
   * The `ProbeListener` side of `probeWith`. An answer arrives while the protocol handles
   * the chunk that carried it, and `markAlive` follows for that chunk: it must not count
   * as traffic, or the next tick would skip its probe (a reply is not traffic).
   */
  probeSettled(gen: number, answered: boolean): void {
    if (!answered) return this.#probeRejected(gen, undefined);
    if (gen === this.#gen && this.#deadlines !== undefined) this.#replyInChunk = true;
    this.#probeAnswered(gen);
  }

  /**
   * The `ProbeListener` side of a late answer: the probe that last timed out in this
   * episode was answered after all, while its successor (suspect) is out. It ends the
   * suspicion as any traffic would, but as a measured round trip: probe ids are unique,
   * so the sample is not ambiguous (Karn's rule is about retransmissions sharing one), and
   * without it the estimator never learns a path that became slower than the timeout.
   */
  probeAnsweredLate(gen: number): void {
    const host = this.#host;
    if (gen !== this.#expiredGen || this.#deadlines === undefined || host.disposed) return;
    this.#expiredGen = -1;
    const rttMs = preciseNow(host.scheduler) - this.#expiredStartedAt;
    this.cancel();
    // Its chunk's `markAlive` is not traffic (the next tick must still probe); set after
    // `cancel`, which clears it.
    this.#replyInChunk = true;
    host.owner.send({ type: 'ww.probe.ok', rttMs });
  }

  /**
   * Inbound traffic arrived while a probe was out and the probe is still unanswered: the
   * peer is alive, so the connection is `ready` at once (DESIGN: any inbound traffic ends
   * `probing`) rather than when the probe times out. The probe is dropped.
   */
  #checkAlive(): void {
    this.#aliveCheckQueued = false;
    if (this.#host.disposed || this.#deadlines === undefined || this.#inbound === this.#inboundAtStart) return;
    this.cancel();
    this.#host.owner.send(PROBE_ALIVE);
  }

  #probeAnswered(gen: number): void {
    const host = this.#host;
    const deadlines = this.#deadlines;
    // Stale (cancelled, or superseded) or already timed out: the deadline has reported.
    if (gen !== this.#gen || deadlines === undefined || host.disposed) return;
    deadlines.delete(this.#slot, this);
    this.#deadlines = undefined;
    const controller = this.#controller;
    this.#controller = undefined;
    if (controller !== undefined) returnProbeController(controller);
    host.owner.send({ type: 'ww.probe.ok', rttMs: preciseNow(host.scheduler) - this.#startedAt });
  }

  /**
   * A probe that failed without an answer (rejected: the session refused it) says nothing
   * about how long the peer has been silent, so its deadline still decides: the failure
   * is recorded and reported when the timeout expires. Otherwise a session rejecting at
   * once would turn the suspicion window into a hot loop of probes.
   */
  #probeRejected(gen: number, failure: unknown): void {
    if (gen !== this.#gen || this.#deadlines === undefined || this.#host.disposed) return;
    this.#rejection = failure ?? new ConnectionClosedError(`probe to ${this.#host.where} failed`);
    this.#rejected = true;
  }

  /**
   * The load figure (`loadSource`, the user's or the runtime's). A throw counts as no load
   * and is reported (`rethrowLater`): at a probe's expiry the probe is already gone, so a
   * throw there would leave the connection `probing` with nothing to end it.
   */
  #load(): number {
    try {
      return this.#host.loadSource();
    } catch (err) {
      rethrowLater(err);
      return 0;
    }
  }

  /** Aborts the probe signal (its probe was abandoned): that controller is not reused. */
  #dropController(reason: WirewardenError): void {
    const controller = this.#controller;
    this.#controller = undefined;
    controller?.abort(reason);
  }
}
