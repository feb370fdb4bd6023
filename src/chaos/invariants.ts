/**
 * The built-in invariants of chaos scenarios. Each reads what the runner observed
 * (`ctx.observed`) and returns a message naming what broke, where and when — the
 * message is what a failing run prints, so it carries the numbers needed to act on it.
 *
 * | invariant | phases | holds when |
 * | --- | --- | --- |
 * | `noLostOrDuplicatedRequests()` | continuous, final | every acknowledged id was executed exactly once; no id executed twice; no reply for another id |
 * | `allReadyWithin(ms)` | continuous, final | after each harmful fault episode, every connection is up again within `ms` |
 * | `noFalseDeath()` | continuous, final | no connection died while no harmful fault was active (benign faults included) |
 * | `detectedWithin(ms)` | continuous, final | every connection reached by a harmful fault died within `ms`; a harmful fault that outlasted the detection bound killed at least one |
 * | `nothingLeftRunning()` | teardown | no scheduled action, socket, listener or timer left |
 */
import { duration } from '../options.js';
import type { WireSession } from '../transport/wire-session.js';
import type { Invariant, InvariantPhase, ScenarioContext, ScenarioObservations } from './scenario-types.js';

/**
 * The bound an invariant factory takes: a duration by the one rule every `…Ms` option
 * follows (an integer in [1, 2^31 − 1] ms), refused with `InvalidOptionError`. A bound
 * of 0 could only be met by a recovery or a detection taking no time at all.
 * `detectionBoundMs()` stays within it.
 */
const boundMs = duration({ min: 1 });

/**
 * A custom invariant.
 *
 * @example
 * invariant('some requests succeed', (ctx, phase) =>
 *   phase === 'final' && ctx.observed.requests().ok === 0 ? 'no request succeeded' : undefined);
 */
export function invariant<D = unknown, S = WireSession>(
  name: string,
  check: (ctx: ScenarioContext<D, S>, phase: InvariantPhase) => string | undefined | Promise<string | undefined>,
): Invariant<D, S> {
  return Object.freeze({ name, check });
}

const list = (ids: readonly number[]) => ids.join(', ');
const faultList = (labels: readonly string[]) => labels.join(' + ');

/**
 * Every acknowledged request was executed by the server exactly once, no request ran
 * twice, and every reply carried its own request's id. Failed requests are allowed.
 * It needs the server to report executions (the runner's wire server does; a
 * `target.server` calls `executed(id)`): when none were reported by the end, it fails
 * saying it could not check, rather than passing on no evidence.
 *
 * @example
 * invariants: [noLostOrDuplicatedRequests()]
 */
export function noLostOrDuplicatedRequests(): Invariant {
  return invariant('noLostOrDuplicatedRequests', (ctx, phase) => {
    if (phase === 'teardown') return undefined;
    const counts = ctx.observed.requests();
    // A reply for another request is visible from the client side alone.
    if (counts.mismatched > 0) return `${counts.mismatched} reply(ies) carried another request's id`;
    if (!counts.executionsObserved) {
      if (phase !== 'final' || counts.ok === 0) return undefined;
      return `cannot check: the server reported no execution for ${counts.ok} acknowledged request(s) ` +
        '(a target.server must call executed(id) before replying; a target.endpoints system cannot report them, so leave this invariant out)';
    }
    if (counts.lost > 0) {
      return `${counts.lost} acknowledged request(s) never executed by the server (ids ${list(ctx.observed.lostIds(5))})`;
    }
    if (counts.duplicated > 0) {
      return `${counts.duplicated} request(s) executed more than once by the server (ids ${list(ctx.observed.duplicatedIds(5))})`;
    }
    return undefined;
  });
}

/**
 * No request failed at all — for faults that must stay invisible to callers (a slow
 * server, latency below the detector's threshold). Failures are listed by error code.
 *
 * @example
 * invariants: [everyRequestSucceeds()]
 */
export function everyRequestSucceeds(): Invariant {
  return invariant('everyRequestSucceeds', (ctx, phase) => {
    if (phase === 'teardown') return undefined;
    const { failed, failuresByCode } = ctx.observed.requests();
    return failed === 0 ? undefined : `${failed} request(s) failed (${JSON.stringify(failuresByCode)})`;
  });
}

/** Connections named in a message, at most: a fleet of 1,000 down would fill a screen. */
const NAMED_CONNECTIONS = 10;

function describeConnections(observed: ScenarioObservations): string {
  const conns = observed.connections();
  const up = conns.filter((c) => c.state === 'ready' || c.state === 'probing').length;
  const down = conns.filter((c) => c.state !== 'ready' && c.state !== 'probing').map((c) => `${c.id} ${c.state}`);
  const more = down.length > NAMED_CONNECTIONS ? ` and ${down.length - NAMED_CONNECTIONS} more` : '';
  return `${up}/${observed.expectedConnections} up${down.length > 0 ? `: ${down.slice(0, NAMED_CONNECTIONS).join(', ')}${more}` : ''}`;
}

/**
 * After each episode of harmful faults ends, every connection is `ready` (or `probing`)
 * again within `ms` of scenario time. At the end, no connection may be down outside an
 * episode still within its bound.
 *
 * @example
 * invariants: [allReadyWithin(1500)]
 */
export function allReadyWithin(ms: number): Invariant {
  boundMs.check(ms, 'allReadyWithin(ms)');
  return invariant(`allReadyWithin(${ms} ms)`, (ctx, phase) => {
    if (phase === 'teardown') return undefined;
    const { observed } = ctx;
    const now = observed.now();
    const episodes = observed.episodes();
    for (const [i, e] of episodes.entries()) {
      if (e.endedAt === undefined) continue;
      const deadline = e.endedAt + ms;
      const late = e.recoveredAt === undefined ? now > deadline : e.recoveredAt > deadline;
      const cutShort = e.interrupted && (episodes[i + 1]?.startedAt ?? Infinity) <= deadline;
      if (late && !cutShort) {
        return e.recoveredAt === undefined
          ? `connections not all up ${now - e.endedAt} ms after ${faultList(e.faults)} ended at ${e.endedAt} ms (${describeConnections(observed)})`
          : `connections took ${e.recoveredAt - e.endedAt} ms to be all up after ${faultList(e.faults)} ended at ${e.endedAt} ms`;
      }
      if (phase === 'final' && e.recoveredAt === undefined && !e.interrupted) {
        return `the scenario ended ${now - e.endedAt} ms after ${faultList(e.faults)} ended at ${e.endedAt} ms, before every connection was up (${describeConnections(observed)}); leave at least ${ms} ms after the last fault`;
      }
    }
    const last = episodes.at(-1);
    const settled = last === undefined || (last.endedAt !== undefined && last.recoveredAt !== undefined);
    if (phase === 'final' && settled && !observed.connections().every((c) => c.state === 'ready' || c.state === 'probing' || c.state === 'suspect')) {
      return `connections down at the end with no fault to explain it (${describeConnections(observed)})`;
    }
    return undefined;
  });
}

/**
 * No connection dies while no harmful fault is active (or within the scenario's
 * `faultGraceMs` after one ended) — in particular not while only benign faults, such as
 * latency below the detector's threshold, are active.
 *
 * @example
 * invariants: [noFalseDeath()]
 */
export function noFalseDeath(): Invariant {
  return invariant('noFalseDeath', (ctx, phase) => {
    if (phase === 'teardown') return undefined;
    const falseDeaths = ctx.observed.falseDeaths();
    const d = falseDeaths[0];
    if (!d) return undefined;
    const benign = ctx.observed.faults().filter((f) => !f.harmful && f.startedAt <= d.at && (f.endedAt === undefined || f.endedAt >= d.at));
    const during = benign.length === 0
      ? 'with no fault active'
      : `while only benign faults were active: ${benign.map((f) => `${f.label} — ${f.reason}`).join('; ')}`;
    const more = falseDeaths.length > 1 ? ` (${falseDeaths.length - 1} more false death(s))` : '';
    return `${d.connection} died (${d.reason}, from ${d.from}) at ${d.at} ms ${during}${more}`;
  });
}

/**
 * Every connection that a harmful fault reached dies within `ms` of it (from the fault's
 * start, or from the connection's first `ready` if it connected during the fault):
 * the detector notices a dead peer in time. Use the heartbeat's bound,
 * `detectionBoundMs(heartbeat)`, or a tighter figure.
 *
 * A fault shorter than `ms` cannot break the first rule, so a second one makes the check
 * able to fail: an episode of harmful faults that lasted at least the detection bound
 * (`ctx.observed.detectionBoundMs`, or `ms` if smaller) while a connection was up must
 * have killed at least one connection while it lasted. A harmful fault that should
 * leave connections alive (a slow link, say) is better classified `harmful: false`.
 *
 * @example
 * invariants: [detectedWithin(detectionBoundMs(heartbeat))]
 */
export function detectedWithin(ms: number): Invariant {
  boundMs.check(ms, 'detectedWithin(ms)');
  return invariant(`detectedWithin(${ms} ms)`, (ctx, phase) => {
    if (phase === 'teardown') return undefined;
    const { observed } = ctx;
    const slow = observed.detections().find((s) => s.latencyMs > ms);
    if (slow) return `${slow.connection} took ${slow.latencyMs} ms to die after ${slow.fault} reached it`;
    const missed = observed.undetected(ms)[0];
    if (missed) {
      return `${missed.connection} still up ${observed.now() - missed.sinceMs} ms after ${missed.fault} reached it at ${missed.sinceMs} ms`;
    }
    const requiredMs = Math.min(ms, observed.detectionBoundMs);
    const now = observed.now();
    for (const e of observed.episodes()) {
      if (e.reachedAt === undefined || e.detections > 0) continue;
      const exposedMs = (e.endedAt ?? now) - e.reachedAt;
      if (exposedMs < requiredMs) continue;
      const span = e.endedAt === undefined ? `since ${e.startedAt} ms` : `${e.startedAt}–${e.endedAt} ms`;
      const bound = requiredMs === ms ? `${ms} ms` : `the heartbeat's detection bound of ${requiredMs} ms`;
      return `no connection died during ${faultList(e.faults)} (${span}): up connections were exposed to it for ${exposedMs} ms, ` +
        `longer than ${bound}, and the failure went undetected`;
    }
    return undefined;
  });
}

/**
 * After teardown nothing the run started is left: no scheduled action on the scenario's
 * scheduler, no socket, listener or timer beyond those open before the run, and the
 * runtime stopped.
 *
 * @example
 * invariants: [nothingLeftRunning()]
 */
export function nothingLeftRunning(): Invariant {
  return invariant('nothingLeftRunning', async (ctx, phase) => {
    if (phase !== 'teardown') return undefined;
    const left = await ctx.leftovers();
    return left.length === 0 ? undefined : `left running after teardown: ${left.join(', ')}`;
  });
}
