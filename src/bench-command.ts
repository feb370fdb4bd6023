/**
 * `wirewarden bench <name>` runs `bench/<name>.ts` in a child process with tsx, so a
 * benchmark gets a fresh heap and its own fd limit, and the CLI stays small.
 *
 * Benchmarks live in a checkout of the repository only: they run wirewarden side by side
 * with its peers (ioredis, generic-pool, tarn), which are development dependencies, so
 * the package does not ship bench/ and its CLI does not offer the command.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ../bench/ from both src/bench-command.ts and dist/bench-command.js.
const BENCH_DIR = fileURLToPath(new URL('../bench/', import.meta.url));

/** Whether this copy of wirewarden has its benchmarks (a checkout does, the package not). */
export function benchmarksAvailable(): boolean {
  return existsSync(BENCH_DIR);
}

function benchmarks(): string[] {
  return readdirSync(BENCH_DIR).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
}

export async function runBenchCommand(argv: string[]): Promise<number> {
  if (!benchmarksAvailable()) {
    process.stderr.write(
      'wirewarden bench: benchmarks are not part of the installed package (they compare wirewarden with\n'
      + 'development-only peers); run them from a checkout of the repository: npm install && npm run bench -- <name>\n',
    );
    return 2;
  }
  const available = benchmarks();
  const [name, ...rest] = argv;
  const usage = `usage: wirewarden bench <name> [options]\n\nbenchmarks: ${available.join(', ') || '(none found)'}\n`;
  if (name === '-h' || name === '--help') {
    process.stdout.write(usage);
    return 0;
  }
  if (!name || !available.includes(name)) {
    process.stderr.write(`${name ? `wirewarden bench: no benchmark named ${JSON.stringify(name)}\n\n` : ''}${usage}`);
    return 2;
  }
  let tsx: string;
  try {
    // Resolved from here, not from the working directory, which may be anywhere.
    tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  } catch {
    process.stderr.write('wirewarden bench: benchmarks run with tsx, a development dependency: npm install\n');
    return 1;
  }
  const child = spawn(process.execPath, ['--import', tsx, '--expose-gc', `${BENCH_DIR}${name}.ts`, ...rest], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
