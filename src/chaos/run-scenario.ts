/**
 * `runScenario()`: runs one scenario, on real sockets or on the simulated network, and
 * returns its report. It never throws for a broken invariant or a failing step: those
 * are the result (`passed: false`, `violations`, `error`).
 *
 *   environment ─▶ server up ─▶ link in front ─▶ pool warm (all ready) ─▶ setup(ctx)
 *     ─▶ timeline: steps at their atMs, workload, continuous checks every checkEveryMs
 *     ─▶ workload drained ─▶ final checks ─▶ teardown (faults healed, pool, runtime,
 *        server, link) ─▶ teardown checks ─▶ report
 *
 * Steps, checks and the workload all run on the scenario's scheduler, so on the
 * simulated network the driver sees them as ordinary scheduled actions, and a run is a
 * pure function of its seed. Each invariant reports its first violation only.
 */
import type { SchedulerAction } from 'rxjs';
import { InvariantBrokenError } from '../errors.js';
import { clampDurationMs, invalidDuration, isDurationMs } from '../options.js';
import type { Pool } from '../pool/pool.js';
import type { Endpoint } from '../transport/types.js';
import type { WireSession } from '../transport/wire-session.js';
import type { ChaosLink } from './chaos-link.js';
import { FIRST_PHASE } from './phase-outcomes.js';
import { createRealEnvironment } from './real-environment.js';
import { RequestLedger } from './request-ledger.js';
import { createScenarioLink, fanOutLink } from './scenario-link.js';
import { createScenarioPool } from './scenario-pool.js';
import { ScenarioRecorder } from './scenario-recorder.js';
import { buildReport, type ScenarioReport, type Violation } from './scenario-report.js';
import type { ScenarioEnvironment } from './scenario-environment.js';
import { ExternalServer, ScenarioServerHost } from './scenario-server.js';
import { targetRequest } from './scenario-target.js';
import type { InvariantPhase, RunMode, Scenario, ScenarioContext, ScenarioLink, ScenarioServer, TimelineStep } from './scenario-types.js';
import { startWorkload, type RunningWorkload } from './scenario-workload.js';
import { deriveSeed, randomSeed, seededRandom } from './seeded-random.js';
import { createSimulatedEnvironment } from './simulated-environment.js';

export interface RunScenarioOptions {
  /** Default `'simulated'`: deterministic and fast. */
  readonly mode?: RunMode;
  /** Seeds every random draw of the run. Default: a fresh one (reported). */
  readonly seed?: number;
  /** The scenario's file, for the replay command. */
  readonly file?: string;
  /** Add `--scenario <name>` to the replay command (the file holds several). */
  readonly namedInFile?: boolean;
  /** Receives `ctx.log` lines and step labels as they happen. */
  readonly onLog?: (line: string) => void;
  /** Told as the run enters each phase, for progress output (a real-socket run takes seconds). */
  readonly onPhase?: (phase: ScenarioPhase) => void;
}

/** The phases of a run, in order; `'setup'` covers warm-up and the scenario's `setup`. */
export type ScenarioPhase = 'starting' | 'setup' | 'timeline' | 'draining' | 'teardown';

export interface ScenarioResult {
  readonly passed: boolean;
  readonly report: ScenarioReport;
  readonly violations: readonly Violation[];
  readonly seed: number;
  /** How to replay this run exactly (simulated runs only). */
  readonly replay: string | undefined;
  /** The first violation as a typed error (`WW_INVARIANT_BROKEN`), with seed and replay. */
  readonly error: InvariantBrokenError | undefined;
}

/** Bound on teardown, in scenario time. */
const TEARDOWN_LIMIT_MS = 30_000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function replayCommand(scenario: { readonly name: string }, seed: number, options: RunScenarioOptions): string {
  if (options.file === undefined) return `runScenario(${scenario.name}, { mode: 'simulated', seed: ${seed} })`;
  const file = /^[\w./@:-]+$/.test(options.file) ? options.file : JSON.stringify(options.file);
  const named = options.namedInFile ? ` --scenario ${JSON.stringify(scenario.name)}` : '';
  return `npx wirewarden chaos run ${file} --simulated --seed ${seed}${named}`;
}

/**
 * Runs a scenario and reports what happened.
 *
 * @example
 * const result = await runScenario(blackholedServer, { mode: 'simulated', seed: 42 });
 * process.stdout.write(formatReport(result.report, result.replay));
 * if (!result.passed) process.exitCode = 1;
 */
export async function runScenario<D, S = WireSession>(scenario: Scenario<D, S>, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const wallStart = performance.now();
  const mode = options.mode ?? 'simulated';
  const seed = (options.seed ?? randomSeed()) >>> 0;
  const env: ScenarioEnvironment = mode === 'simulated' ? createSimulatedEnvironment(seed) : createRealEnvironment(seed, scenario.name);
  const { scheduler, runtime } = env;
  let origin = scheduler.now();
  const ledger = new RequestLedger(() => scheduler.now(), () => origin);
  const recorder = new ScenarioRecorder({ scheduler, events$: runtime.events$, graceMs: scenario.faultGraceMs, ledger });
  const violations: Violation[] = [];
  const log: { atMs: number; message: string }[] = [];
  let stepOverride: boolean | undefined;
  const target = scenario.target;
  const external = target?.endpoints;
  const host = external ? undefined : new ScenarioServerHost({
    binding: env.binding, scheduler, ledger, recorder, stepOverride: () => stepOverride, target,
  });
  const server: ScenarioServer = host ?? new ExternalServer(external!);
  let pool: Pool<S> | undefined;
  let expectedConnections = scenario.connections;
  let workload: RunningWorkload | undefined;
  let ctx!: ScenarioContext<D, S>;
  let timelineMs = 0;
  let stage: 'setup' | 'timeline' | 'final' = 'setup';
  let rawLinks: ChaosLink[] = [];
  const broken = new Set<string>();
  const violate = (invariant: string, phase: InvariantPhase, text: string) => {
    if (broken.has(invariant)) return;
    broken.add(invariant);
    violations.push({ invariant, phase, atMs: recorder.now(), message: text });
  };
  const note = (text: string) => {
    log.push({ atMs: recorder.now(), message: text });
    options.onLog?.(`${recorder.now()} ms  ${text}`);
  };
  const enter = (phase: ScenarioPhase) => {
    try {
      options.onPhase?.(phase);
    } catch {
      // Progress output must never change a run (nor skip its teardown).
    }
  };

  const check = async (phase: InvariantPhase): Promise<void> => {
    for (const inv of scenario.invariants) {
      if (broken.has(inv.name)) continue;
      try {
        const result = await inv.check(ctx, phase);
        if (result !== undefined) violate(inv.name, phase, result);
      } catch (err) {
        violate(inv.name, phase, `the check threw: ${message(err)}`);
      }
    }
  };

  const steps: Promise<void>[] = [];
  const runStep = (step: TimelineStep<D, S>): void => {
    note(`▶ ${step.label}`);
    ledger.startPhase(step.label);
    stepOverride = step.harmful;
    const done = (async () => step.action(ctx))().then(
      () => undefined,
      (err: unknown) => violate('timeline', 'continuous', `step "${step.label}" at ${step.atMs} ms failed: ${message(err)}`),
    ).finally(() => {
      if (stepOverride === step.harmful) stepOverride = undefined;
    });
    steps.push(done);
  };

  try {
    enter('starting');
    await host?.start();
    const connected = await env.connect(external ?? [hostEndpoint(env.binding.address)]);
    rawLinks = connected.links;
    const linkOf = (raw: ChaosLink) =>
      createScenarioLink({ link: raw, recorder, thresholdMs: scenario.heartbeat.maxTimeoutMs, stepOverride: () => stepOverride });
    const links: ScenarioLink[] = rawLinks.map(linkOf);
    const link = links.length === 1 ? links[0]! : linkOf(fanOutLink(rawLinks));
    const timeoutMs = scenario.workload === false ? 1000 : scenario.workload.timeoutMs;
    const made = createScenarioPool(scenario, runtime, connected.endpoints, env.transport, timeoutMs, mode);
    pool = made.pool;
    expectedConnections = made.expected;
    recorder.watch(made.pool.path, made.expected, made.detectionBoundMs);
    const activePool = made.pool;
    ctx = {
      scenario, mode, seed, runtime, scheduler, server, link, links, pool: activePool,
      random: seededRandom(deriveSeed(seed, 'scenario')),
      log: note,
      now: () => recorder.now(),
      sleep: (ms) => isDurationMs(ms)
        ? new Promise<void>((resolve) => scheduler.schedule(() => resolve(), ms))
        : Promise.reject(invalidDuration('ctx.sleep(ms)', ms)),
      data: undefined as D,
      observed: recorder,
      leftovers: async () => {
        const left = await env.leftovers();
        if (runtime.state !== 'stopped') left.push(`the runtime (${runtime.state})`);
        if (host?.running) left.push(`the scenario's server (${host.connections} connections)`);
        return left;
      },
    };

    enter('setup');
    if (!(await env.settle(recorder.whenAllUp(), scenario.warmupTimeoutMs))) {
      const up = recorder.connections().filter((c) => c.state === 'ready').length;
      const health = activePool.health();
      throw new Error(`only ${up}/${expectedConnections} connections ready after ${scenario.warmupTimeoutMs} ms of warm-up (${health.message})`);
    }
    if (scenario.setup) {
      const setup = Promise.resolve().then(() => scenario.setup!(ctx as unknown as ScenarioContext<undefined, S>));
      if (!(await env.settle(setup, scenario.warmupTimeoutMs))) throw new Error(`setup did not finish within ${scenario.warmupTimeoutMs} ms`);
      ctx = { ...ctx, data: await setup };
    }

    stage = 'timeline';
    enter('timeline');
    recorder.startTimeline();
    origin = scheduler.now();
    ledger.startPhase(FIRST_PHASE);
    const t0 = scheduler.now();
    for (const step of scenario.timeline) scheduler.schedule(() => runStep(step), step.atMs);
    const checker = scheduler.schedule(function (this: SchedulerAction<undefined>) {
      void check('continuous');
      this.schedule(undefined, scenario.checkEveryMs);
    }, scenario.checkEveryMs);
    if (scenario.workload !== false) workload = startWorkload(activePool, targetRequest(target), scheduler, ledger, scenario.workload);
    const timelineStart = performance.now();
    await env.advanceTo(t0 + scenario.durationMs);
    timelineMs = performance.now() - timelineStart;
    checker.unsubscribe();
    ledger.endPhases();
    stage = 'final';
    enter('draining');
    workload?.stop();
    // A sum of valid durations: kept within what a timer can wait.
    const drainLimitMs = clampDurationMs(2 * timeoutMs + 1000);
    if (!(await env.settle(Promise.all([workload?.drained, ...steps]), drainLimitMs))) {
      violate('runner', 'final', `requests or timeline steps still running ${drainLimitMs} ms after the timeline ended`);
    }
    await check('final');
  } catch (err) {
    violate(stage === 'setup' ? 'setup' : 'runner', stage === 'final' ? 'final' : 'continuous', message(err));
  } finally {
    workload?.stop();
    // The report covers the timeline and its drain; teardown is not observed.
    recorder.stop();
    enter('teardown');
    const teardown = (async () => {
      // Heal every fault first so that graceful closes do not wait on a blackhole.
      for (const raw of rawLinks) {
        raw.resetToxics();
        await raw.enable();
      }
      host?.thaw();
      await pool?.close();
      await runtime.shutdown();
      await host?.close();
      await env.close();
    })();
    const failed = teardown.then(() => undefined, (err: unknown) => violate('teardown', 'teardown', message(err)));
    // Awaited only once settled: a simulated teardown stuck on virtual time would never end.
    if (await env.settle(teardown, TEARDOWN_LIMIT_MS)) await failed;
    else violate('teardown', 'teardown', `teardown did not finish within ${TEARDOWN_LIMIT_MS} ms`);
  }
  if (ctx) await check('teardown');

  const totalMs = performance.now() - wallStart;
  const speedup = timelineMs > 0 ? Math.round((scenario.durationMs / timelineMs) * 10) / 10 : 0;
  const report = buildReport({
    scenario: { ...scenario, connections: expectedConnections }, mode, seed, observed: recorder, invariants: scenario.invariants.map((i) => i.name), violations, log,
    wall: { totalMs: Math.round(totalMs), timelineMs: Math.round(timelineMs * 10) / 10, speedup },
  });
  const replay = mode === 'simulated' ? replayCommand(scenario, seed, options) : undefined;
  const first = violations[0];
  const error = first && new InvariantBrokenError(
    `chaos scenario ${JSON.stringify(scenario.name)}: ${first.invariant} broke at ${first.atMs} ms (${first.phase}): ${first.message} (seed=${seed}${replay ? `; replay: ${replay}` : ''})`,
  );
  return { passed: violations.length === 0, report, violations, seed, replay, error };
}

/** The hosted server's `host:port` as an endpoint (the link's upstream). */
function hostEndpoint(address: string): Endpoint {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}
