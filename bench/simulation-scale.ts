/**
 * How simulated chaos runs scale: connections × virtual minutes → wall time, CPU per
 * simulated heartbeat, peak RSS and heap over the run; and what a seed sweep on worker
 * threads gains over a serial one.
 *
 *   npx tsx bench/simulation-scale.ts [--sizes 100x10,1000x10,1000x60] [--kinds fleet,quiet]
 *                                     [--seed 1] [--sweep 4] [--json out.json]
 *
 * Each size runs in a child process of its own (so that its peak RSS is its own), on the
 * simulated network, seeded:
 * - `fleet`: examples/chaos/fleet.ts at that size — heartbeats every 5 s, 20 requests/s,
 *   a slow link, a 30 s partition and a server crash (two reconnect storms), the pool
 *   retiring connections at their 30-minute lifetime;
 * - `quiet`: the same pool and heartbeat with no workload and no fault: what one
 *   simulated heartbeat costs, everything included.
 *
 * CPU per heartbeat = the child's CPU time (user + system, all threads) over the whole
 * run, startup included / probes sent (`ready → probing` transitions). Heap is sampled
 * every tenth of the timeline after a full GC (the child runs with `--expose-gc`; the
 * collections are in the CPU figure, a few ms each): the last sample against the first
 * shows whether memory grows with virtual time.
 *
 * `--sweep k` then times `chaos run examples/chaos/fleet.ts --simulated --seeds k` (the
 * shipped 1,000 × 60), serial (`--workers 1`) against one worker per core, through the
 * CLI as a user runs it; the outputs must match but for the wall-clock lines.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fleetDefinition } from '../examples/chaos/fleet.js';
import { defineScenario } from '../src/chaos/define-scenario.js';
import { nothingLeftRunning } from '../src/chaos/invariants.js';
import { runScenario } from '../src/chaos/run-scenario.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100x10,1000x10,1000x60' },
    kinds: { type: 'string', default: 'fleet,quiet' },
    seed: { type: 'string', default: '1' },
    sweep: { type: 'string' },
    json: { type: 'string' },
    // Internal: run one size in this process and print its figures as JSON.
    one: { type: 'string' },
  },
});

interface Figures {
  kind: string;
  connections: number;
  minutes: number;
  passed: boolean;
  wallMs: number;
  timelineMs: number;
  speedup: number;
  cpuMs: number;
  probes: number;
  usPerHeartbeat: number;
  restarts: number;
  requests: number;
  peakRssMb: number;
  heapMb: number[];
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

async function runOne(spec: string): Promise<Figures> {
  const [kind, size] = spec.split(':') as [string, string];
  const [connections, minutes] = size.split('x').map(Number) as [number, number];
  const fleet = fleetDefinition({ connections, minutes });
  const durationMs = minutes * 60_000;
  const heap: number[] = [];
  let probes = 0;
  const samples = Array.from({ length: 10 }, (_, i) => ({
    atMs: Math.round(((i + 1) * durationMs) / 10) - 1,
    label: `heap sample ${i + 1}`,
    action: () => {
      (globalThis as { gc?: () => void }).gc?.();
      heap.push(mb(process.memoryUsage().heapUsed));
    },
  }));
  const base = kind === 'quiet'
    ? { ...fleet, name: 'quiet', workload: false as const, timeline: [], invariants: [nothingLeftRunning()] }
    : fleet;
  const scenario = defineScenario({
    ...base,
    timeline: [...(base.timeline ?? []), ...samples],
    setup: (ctx) => {
      ctx.runtime.events$.subscribe((e) => {
        if (e.type === 'state' && e.to === 'probing') probes++;
      });
    },
  });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const result = await runScenario(scenario, { mode: 'simulated', seed: Number(values.seed) });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    kind, connections, minutes, passed: result.passed,
    wallMs: Math.round(wallMs), timelineMs: Math.round(result.report.wall.timelineMs), speedup: result.report.wall.speedup,
    cpuMs: Math.round(cpuMs), probes, usPerHeartbeat: Math.round((cpuMs * 1000 / probes) * 10) / 10,
    restarts: result.report.restarts, requests: result.report.requests.issued,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), heapMb: heap,
  };
}

function child(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', ...process.execArgv, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function timeCli(args: readonly string[]): Promise<{ wallMs: number; out: string }> {
  const started = performance.now();
  const out = await new Promise<string>((resolve) => {
    execFile(process.execPath, [...process.execArgv, 'src/cli.ts', ...args], { maxBuffer: 64 << 20 }, (_err, stdout) => resolve(stdout));
  });
  return { wallMs: Math.round(performance.now() - started), out };
}

const withoutWall = (text: string) => text.split('\n').filter((l) => !l.startsWith('  timeline ')).join('\n');

if (values.one !== undefined) {
  process.stdout.write(`${JSON.stringify(await runOne(values.one))}\n`);
} else {
  const kinds = values.kinds.split(',');
  const sizes = values.sizes.split(',');
  console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('| kind | connections × virtual min | wall s | timeline × real time | CPU s | probes | µs CPU / heartbeat | restarts | peak RSS MB | heap after GC MB (1st → last tenth) | passed |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const all: Figures[] = [];
  for (const kind of kinds) {
    for (const size of sizes) {
      const f = JSON.parse(await child([new URL(import.meta.url).pathname, '--one', `${kind}:${size}`, '--seed', values.seed])) as Figures;
      all.push(f);
      console.log(`| ${f.kind} | ${f.connections} × ${f.minutes} | ${(f.wallMs / 1000).toFixed(1)} | ${f.speedup}× | ${(f.cpuMs / 1000).toFixed(1)} | ${f.probes} | ${f.usPerHeartbeat} | ${f.restarts} | ${f.peakRssMb} | ${f.heapMb[0]} → ${f.heapMb.at(-1)} | ${f.passed ? 'yes' : 'NO'} |`);
    }
  }
  let sweep: { seeds: number; serialMs: number; parallelMs: number; workers: number; identical: boolean } | undefined;
  if (values.sweep !== undefined) {
    const seeds = Number(values.sweep);
    const common = ['chaos', 'run', 'examples/chaos/fleet.ts', '--simulated', '--seed', values.seed, '--seeds', String(seeds)];
    const serial = await timeCli([...common, '--workers', '1']);
    const parallel = await timeCli(common);
    const workers = Math.min(availableParallelism(), seeds);
    sweep = { seeds, serialMs: serial.wallMs, parallelMs: parallel.wallMs, workers, identical: withoutWall(serial.out) === withoutWall(parallel.out) };
    console.log(`\nseed sweep, fleet 1000 × 60, ${seeds} seeds: serial ${(serial.wallMs / 1000).toFixed(1)} s, ${workers} workers ${(parallel.wallMs / 1000).toFixed(1)} s ` +
      `(${(serial.wallMs / parallel.wallMs).toFixed(2)}×), reports identical: ${sweep.identical}`);
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ figures: all, sweep }, null, 2));
}
