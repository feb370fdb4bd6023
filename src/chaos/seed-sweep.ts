/**
 * Seed sweeps on worker threads: `wirewarden chaos run --simulated --seeds k` runs its
 * seeds on a Piscina pool, one simulated run per task, and hands the outcomes back in
 * task order — the order a serial sweep prints them in.
 *
 *   tasks (file × scenario × seed, in print order) ──▶ Piscina, `threads` workers (seed-worker.ts)
 *                                                        │ outcomes, in any order
 *   onOutcome(task 0), onOutcome(task 1), … ◀── held until every earlier task has one
 *
 * Trade-offs:
 * - A simulated run is single-threaded and CPU-bound, and a pure function of its seed,
 *   so seeds parallelise perfectly: the speed-up is the number of cores, less what
 *   starting a worker costs (loading the runtime and the scenario file once per thread:
 *   ~0.2 s compiled, ~1 s under tsx). Short sweeps gain little; `threads: 1` is a serial
 *   sweep in this thread (the caller's business, not this module's).
 * - Every thread holds one run's simulation at a time: memory is `threads` × one run's.
 * - A run that throws on its worker (its file no longer loads, the thread died) is an
 *   outcome too (`error`), in its place: the sweep goes on and the command fails.
 * - The pool is destroyed before the sweep resolves: no thread is left behind.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { SeedOutcome, SeedTask } from './seed-worker.js';

export type { SeedOutcome, SeedTask } from './seed-worker.js';

/** One task's result: its outcome, or why it has none. */
export type SweepResult = { readonly task: SeedTask; readonly outcome: SeedOutcome } | { readonly task: SeedTask; readonly error: Error };

/**
 * Runs `tasks` on `threads` worker threads (at most one per task); calls `onResult` for
 * each, in the order of `tasks`, as soon as it and every task before it are done.
 *
 * @example
 * await sweepSeeds([{ file: 'fleet.ts', scenario: 'fleet', namedInFile: false, seed: 1 }], 2, (r) => print(r));
 */
export async function sweepSeeds(tasks: readonly SeedTask[], threads: number, onResult: (result: SweepResult) => void): Promise<void> {
  if (tasks.length === 0) return;
  const size = Math.max(1, Math.min(threads, tasks.length));
  const { filename, execArgv } = workerEntry();
  const pool = new Piscina({
    filename,
    // Piscina preloads `filename` under this name at thread start (see framing-pool.ts:
    // with 'default', which the module does not export, tsx's loader misses the preload).
    name: 'runSeed',
    ...(execArgv ? { execArgv } : {}),
    minThreads: size,
    maxThreads: size,
    // Each thread runs whole simulations; a queue of them is the normal case.
    maxQueue: Number.POSITIVE_INFINITY,
  });
  // A worker failing with no task in flight: an EventEmitter without a listener would
  // turn it into an uncaughtException.
  pool.on('error', (err: unknown) => {
    process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WirewardenSeedWorkerWarning');
  });
  const results: (SweepResult | undefined)[] = new Array(tasks.length);
  let next = 0;
  const deliver = (i: number, result: SweepResult): void => {
    results[i] = result;
    while (next < tasks.length && results[next] !== undefined) {
      const ready = results[next]!;
      results[next++] = undefined;
      onResult(ready);
    }
  };
  try {
    await Promise.all(tasks.map((task, i) => (pool.run(task) as Promise<SeedOutcome>).then(
      (outcome) => deliver(i, { task, outcome }),
      (err: unknown) => deliver(i, { task, error: err instanceof Error ? err : new Error(String(err)) }),
    )));
  } finally {
    await pool.destroy();
  }
}

/**
 * The worker module next to this one: `.ts` under tsx or vitest (given tsx's loader,
 * resolved from here, since a worker under vitest runs plain Node), `.js` once compiled.
 * As framing-pool.ts does for its worker.
 */
function workerEntry(): { filename: string; execArgv: string[] | undefined } {
  const ts = import.meta.url.endsWith('.ts');
  const filename = new URL(`./seed-worker${ts ? '.ts' : '.js'}`, import.meta.url).href;
  if (!ts) return { filename, execArgv: undefined };
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { filename, execArgv: ['--import', loader] };
}
