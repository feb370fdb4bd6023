/**
 * The fuzz harness's command line.
 *
 *   npm run fuzz                                   every target, 1 000 000 inputs each
 *   npm run fuzz -- --target resp-parser --inputs 50000 --seed 7
 *   npm run fuzz -- --target wire-codec --seed 7 --case 1234      replay one case
 *   npm run fuzz -- --json fuzz-report.json        also write the reports as JSON
 *
 * The seed is printed (a random one unless given); the same seed feeds the same inputs
 * (the socket targets' timing is the only thing that varies between runs). Exit code 1
 * when any target has a finding, 2 on bad arguments.
 */
import { writeFileSync } from 'node:fs';
import { randomSeed } from '../src/chaos/seeded-random.js';
import { runFuzz, TARGETS, type FuzzRunOptions } from './campaign.js';
import { formatReports } from './report.js';

function parseArgs(argv: readonly string[]): FuzzRunOptions & { json?: string } {
  const out: { targets?: string[]; inputs?: number; seed?: number; onlyCase?: number; json?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const int = (): number => {
      const n = Number(value);
      if (value === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got ${String(value)}`);
      i++;
      return n;
    };
    switch (flag) {
      case '--target':
      case '--targets':
        if (value === undefined) throw new Error(`${flag} needs a name`);
        out.targets = value === 'all' ? undefined : value.split(',');
        for (const name of out.targets ?? []) {
          if (!TARGETS.some((t) => t.name === name)) throw new Error(`unknown target ${JSON.stringify(name)} (targets: ${TARGETS.map((t) => t.name).join(', ')}, all)`);
        }
        i++;
        break;
      case '--inputs':
        out.inputs = int();
        break;
      case '--seed':
        out.seed = int() >>> 0;
        break;
      case '--case':
        out.onlyCase = int();
        break;
      case '--json':
        if (value === undefined) throw new Error('--json needs a path');
        out.json = value;
        i++;
        break;
      default:
        throw new Error(`unknown argument ${flag} (use --target, --inputs, --seed, --case, --json)`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
    return;
  }
  const seed = args.seed ?? randomSeed();
  const started = Date.now();
  const reports = await runFuzz({ ...args, seed, log: (line) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`) });
  console.log(`seed ${seed}, node ${process.version}\n`);
  console.log(formatReports(reports));
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(reports.map((r) => r.toJSON()), null, 2));
  process.exitCode = reports.some((r) => r.findings > 0) ? 1 : 0;
  // A target that leaked a handle (reported as `leak`) must not keep the run alive.
  setTimeout(() => process.exit(), 2000).unref();
}

await main();
