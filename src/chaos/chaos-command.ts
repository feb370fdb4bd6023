/**
 * `wirewarden chaos run <file…> [--simulated] [--seed n] [--seeds k] [--workers n] [--scenario name]`:
 * loads scenario files, runs each scenario, prints its report, and exits non-zero when
 * an invariant broke — with the seed and the command that replays the run.
 *
 * Several simulated runs (`--seeds k`, several scenarios) go to worker threads, one run
 * per task (seed-sweep.ts): reports print in the order a serial sweep prints them, and
 * each is the one the serial run gives for its seed. Unless `--workers` says, two runs
 * are made here and the second timed; the rest go to workers only if they would take 10 s
 * or more here (a worker costs ~0.3–1.5 s to start). Real-socket runs stay serial, in
 * this thread: they bind ports and print progress.
 *
 * A scenario file default-exports `defineScenario(...)` or an array of them; `.js` and
 * `.mjs` files load as they are, `.ts` files through tsx when it is installed, and a
 * bare name runs a scenario shipped with the package (see load-scenarios.ts). A
 * real-socket run takes seconds: its phases and steps are printed to stderr as they
 * happen (`--quiet` turns that off); stdout carries only the reports.
 *
 * Exit status: 0 when every invariant held, 1 when one broke, 2 for bad arguments, a
 * file that cannot be loaded, or a `target.endpoints` scenario asked to run
 * `--simulated` (the simulated network cannot reach a system already running).
 */
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitWhenDone, resourcesOpenAtStart } from '../exit-when-done.js';
import { describeEndpoint } from '../transport/dial-socket.js';
import { formatReport } from './format-report.js';
import { loadScenarios, shippedScenarios } from './load-scenarios.js';
import { runScenario, type ScenarioPhase, type ScenarioResult } from './run-scenario.js';
import type { RunMode, Scenario } from './scenario-types.js';
import { randomSeed } from './seeded-random.js';
import { sweepSeeds, type SeedTask } from './seed-sweep.js';

export interface ChaosCommandIo {
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

function usage(): string {
  const shipped = shippedScenarios();
  return `usage: wirewarden chaos run <file...> [--simulated] [--seed n] [--seeds k] [--workers n] [--scenario name] [--quiet]

Runs chaos scenarios (files that default-export defineScenario(...) or an array of them)
and prints a report for each. .js and .mjs files load as they are; .ts files need tsx
(npm install --save-dev tsx). A bare name runs a scenario shipped with wirewarden:
  ${shipped.length > 0 ? shipped.join(', ') : '(none found)'}
  --simulated      run on the simulated network in virtual time: deterministic and fast
                   (default: real sockets on 127.0.0.1, a chaos proxy in front of the server)
  --seed n         seed of every random draw, an integer in [0, 4294967295] (default: random, printed)
  --seeds k        run k seeds in a row: n, n+1, … (default 1)
  --workers n      worker threads for several --simulated runs; by default one per core
                   (here ${availableParallelism()}) once two runs show the rest would take 10 s
                   or more; 1 runs them one after another in this thread
  --scenario name  only the scenario with this name
  --quiet          no progress on stderr during real-socket runs
Exit status: 0 when every invariant held, 1 when one broke, 2 for bad arguments or files
(including a target.endpoints scenario with --simulated: those run on real sockets only).
Example: wirewarden chaos run slow-server --simulated --seeds 20
`;
}

interface Flags {
  files: string[];
  mode: RunMode;
  seed: number | undefined;
  seeds: number;
  workers: number | undefined;
  scenario: string | undefined;
  quiet: boolean;
  help: boolean;
}

function parseFlags(argv: readonly string[]): Flags | string {
  const flags: Flags = { files: [], mode: 'real', seed: undefined, seeds: 1, workers: undefined, scenario: undefined, quiet: false, help: false };
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') return { ...flags, help: true };
  if (command !== 'run') return command === undefined ? 'missing command: run' : `unknown chaos command ${JSON.stringify(command)}`;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '-h' || arg === '--help') {
      flags.help = true;
      continue;
    }
    if (arg === '--simulated') {
      flags.mode = 'simulated';
      continue;
    }
    if (arg === '--quiet') {
      flags.quiet = true;
      continue;
    }
    const m = /^--(seed|seeds|workers|scenario)(?:=(.*))?$/.exec(arg);
    if (!m) {
      if (arg.startsWith('-')) return `unknown option ${JSON.stringify(arg)}`;
      flags.files.push(arg);
      continue;
    }
    const name = m[1]!;
    const value = m[2] ?? rest[++i];
    if (value === undefined || value === '') return `--${name} needs a value`;
    if (name === 'scenario') {
      flags.scenario = value;
    } else if (name === 'seed') {
      if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) return `--seed must be an integer in [0, 4294967295], got ${JSON.stringify(value)}`;
      flags.seed = Number(value);
    } else if (name === 'workers') {
      if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1024) return `--workers must be an integer in [1, 1024], got ${JSON.stringify(value)}`;
      flags.workers = Number(value);
    } else {
      if (!/^\d{1,6}$/.test(value) || Number(value) < 1) return `--seeds must be an integer >= 1, got ${JSON.stringify(value)}`;
      flags.seeds = Number(value);
    }
  }
  if (!flags.help && flags.files.length === 0) return 'no scenario file given';
  return flags;
}

/** What a real-socket run starts first: it depends on where the system under test is. */
function starting(scenario: Scenario): string {
  const target = scenario.target;
  if (target?.endpoints !== undefined) {
    const proxies = target.endpoints.length === 1 ? 'a chaos proxy' : `${target.endpoints.length} chaos proxies`;
    return `starting ${proxies} on 127.0.0.1 in front of ${target.endpoints.map(describeEndpoint).join(', ')}`;
  }
  if (target?.server !== undefined) return 'starting your server (target.server) and the chaos proxy on 127.0.0.1';
  if (target?.handler !== undefined) return 'starting a wire server running your handler (target.handler) and the chaos proxy on 127.0.0.1';
  return 'starting the echo wire server and the chaos proxy on 127.0.0.1';
}

const PHASES: Record<Exclude<ScenarioPhase, 'starting'>, string> = {
  setup: 'warming up the pool',
  timeline: 'timeline running',
  draining: 'draining in-flight requests, final checks',
  teardown: 'tearing down',
};

/**
 * Progress lines for a real-socket run, which takes its timeline's length in wall time:
 * each phase as it starts and each step or `ctx.log` line as it happens, with the wall
 * time since the run began.
 */
function progress(write: (text: string) => void, scenario: Scenario, seed: number) {
  const startedAt = performance.now();
  const line = (text: string) => write(`  ${`+${((performance.now() - startedAt) / 1000).toFixed(1)} s`.padStart(8)}  ${text}\n`);
  write(`${scenario.name} · real sockets · seed ${seed} · ${scenario.durationMs} ms timeline, ${scenario.connections} connections\n`);
  return {
    onPhase: (phase: ScenarioPhase) => line(phase === 'starting' ? starting(scenario) : PHASES[phase]),
    onLog: (text: string) => line(`  ${text}`),
  };
}

/**
 * Runs `wirewarden chaos <argv>`; resolves with the exit status.
 *
 * @example
 * process.exitCode = await runChaosCommand(['run', 'examples/chaos/blackholed-server.ts', '--simulated', '--seed', '7']);
 */
export async function runChaosCommand(argv: string[], io: ChaosCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = io.stderr ?? ((text: string) => void process.stderr.write(text));
  const flags = parseFlags(argv);
  if (typeof flags === 'string') {
    stderr(`wirewarden chaos: ${flags}\n\n${usage()}`);
    return 2;
  }
  if (flags.help) {
    stdout(usage());
    return 0;
  }

  const runs: { file: string; scenario: Scenario; namedInFile: boolean }[] = [];
  for (const file of flags.files) {
    const scenarios = await loadScenarios(file);
    if (typeof scenarios === 'string') {
      stderr(`wirewarden chaos: ${scenarios}\n`);
      return 2;
    }
    const chosen = flags.scenario === undefined ? scenarios : scenarios.filter((s) => s.name === flags.scenario);
    for (const scenario of chosen) runs.push({ file, scenario, namedInFile: scenarios.length > 1 });
  }
  if (runs.length === 0) {
    stderr(`wirewarden chaos: no scenario named ${JSON.stringify(flags.scenario)} in ${flags.files.join(', ')}\n`);
    return 2;
  }
  // Refused before anything runs: not a broken invariant, and no seed would replay it.
  const external = flags.mode === 'simulated' ? runs.find((r) => r.scenario.target?.endpoints !== undefined) : undefined;
  if (external !== undefined) {
    stderr(
      `wirewarden chaos: ${external.scenario.name} (${external.file}) tests a system already running (target.endpoints), ` +
        'which the simulated network cannot reach: run it without --simulated (real sockets), ' +
        'or host the system in the scenario with target.server or target.handler\n',
    );
    return 2;
  }

  const base = flags.seed ?? randomSeed();
  const failed: Failure[] = [];
  let total = 0;
  const planned = runs.flatMap((run) => Array.from({ length: flags.seeds }, (_, i) => ({ run, seed: (base + i) >>> 0 })));
  const runHere = async ({ run: { file, scenario, namedInFile }, seed }: (typeof planned)[number]): Promise<void> => {
    const watch = flags.mode === 'real' && !flags.quiet ? progress(stderr, scenario, seed) : {};
    const result = await runScenario(scenario, { mode: flags.mode, seed, file, namedInFile, ...watch });
    total++;
    stdout(`${formatReport(result.report, result.replay)}\n`);
    if (!result.passed) failed.push(failure(result));
  };
  const workers = Math.min(flags.workers ?? availableParallelism(), planned.length);
  let done = 0;
  let onWorkers = flags.mode === 'simulated' && workers > 1;
  if (onWorkers && flags.workers === undefined) {
    // Left to decide: two runs here, the second timed (the first pays for compiling the
    // code). Workers cost ~0.3–1.5 s each to start and contend for memory: a sweep of
    // short runs is done sooner here, one after another.
    await runHere(planned[done++]!);
    const started = performance.now();
    await runHere(planned[done++]!);
    const left = planned.length - done;
    onWorkers = left >= 2 && (performance.now() - started) * left >= WORKERS_WORTHWHILE_MS;
  }
  if (onWorkers) {
    const tasks: SeedTask[] = planned.slice(done).map(({ run, seed }) => ({ file: run.file, scenario: run.scenario.name, namedInFile: run.namedInFile, seed }));
    done = planned.length;
    await sweepSeeds(tasks, workers, (r) => {
      total++;
      if ('error' in r) {
        const replay = replayOf(r.task);
        stdout(`━━ ${r.task.scenario} · simulated network · seed ${r.task.seed} ━━\n  result        CRASHED on its worker thread: ${r.error.message}\n                replay: ${replay}\n\n`);
        failed.push({ scenario: r.task.scenario, seed: r.task.seed, why: `the run crashed: ${r.error.message}`, replay });
        return;
      }
      stdout(`${formatReport(r.outcome.report, r.outcome.replay)}\n`);
      if (!r.outcome.passed) failed.push(failure(r.outcome));
    });
  }
  for (; done < planned.length; done++) await runHere(planned[done]!);
  if (total > 1) stdout(`${total} runs: ${total - failed.length} passed, ${failed.length} failed\n`);
  for (const f of failed) {
    stderr(`FAILED ${f.scenario} seed=${f.seed}: ${f.why}\n`);
    stderr(f.replay ? `  replay: ${f.replay}\n` : `  real sockets do not replay exactly; try the same seed with --simulated\n`);
  }
  return failed.length === 0 ? 0 : 1;
}

/**
 * A sweep goes to worker threads when what is left of it would take at least this long
 * here (judged by its second run): below, starting the workers costs more than they save
 * (measured in docs/benchmarks.md, "Simulation at scale").
 */
const WORKERS_WORTHWHILE_MS = 10_000;

interface Failure {
  readonly scenario: string;
  readonly seed: number;
  readonly why: string;
  readonly replay: string | undefined;
}

function failure(result: Pick<ScenarioResult, 'report' | 'seed' | 'violations' | 'replay'>): Failure {
  const v = result.violations[0]!;
  return { scenario: result.report.scenario, seed: result.seed, why: `${v.invariant} at ${v.atMs} ms: ${v.message}`, replay: result.replay };
}

/** The replay command of a run that never reported (as `runScenario` words it). */
function replayOf(task: SeedTask): string {
  const file = /^[\w./@:-]+$/.test(task.file) ? task.file : JSON.stringify(task.file);
  return `npx wirewarden chaos run ${file} --simulated --seed ${task.seed}${task.namedInFile ? ` --scenario ${JSON.stringify(task.scenario)}` : ''}`;
}

/**
 * Makes a scenario file runnable on its own: when `moduleUrl` is the process's entry
 * point, runs `wirewarden chaos run <that file> <process arguments>` and sets the exit
 * status; otherwise (the file was imported by the CLI or a test) does nothing. It does
 * not wait for the run: the command imports the file, which must finish evaluating first.
 *
 * @example
 * // at the end of examples/chaos/slow-server.ts: `npx tsx examples/chaos/slow-server.ts --simulated`
 * // (compiled: `node dist/examples/chaos/slow-server.js --simulated`)
 * runIfMain(import.meta.url);
 */
export function runIfMain(moduleUrl: string): void {
  const entry = process.argv[1];
  if (entry === undefined) return;
  const file = fileURLToPath(moduleUrl);
  try {
    if (realpathSync(entry) !== realpathSync(file)) return;
  } catch {
    return;
  }
  // The file itself may hold the process open (a server it starts): end it anyway.
  // The baseline is taken after the file's own top level ran, so what it opened there is
  // not named (the warning says "something opened before the command started").
  const warn = (text: string) => void process.stderr.write(text);
  const baseline = resourcesOpenAtStart();
  runChaosCommand(['run', relative(process.cwd(), file), ...process.argv.slice(2)]).then(
    (code) => exitWhenDone(code, warn, baseline),
    (err: unknown) => {
      process.stderr.write(`wirewarden chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      exitWhenDone(1, warn, baseline);
    },
  );
}
