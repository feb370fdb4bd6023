/**
 * `wirewarden bench <name>` runs `bench/<name>.ts` in a child process with tsx, so a
 * benchmark gets a fresh heap and its own fd limit, and the CLI stays small.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function runBenchCommand(argv: string[]): Promise<number> {
  const benchDir = fileURLToPath(new URL('../bench/', import.meta.url));
  const available = existsSync(benchDir)
    ? readdirSync(benchDir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3))
    : [];
  const [name, ...rest] = argv;
  if (!name || !available.includes(name)) {
    process.stderr.write(`usage: wirewarden bench <name> — one of: ${available.join(', ') || '(none found)'}\n`);
    return 1;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', `${benchDir}${name}.ts`, ...rest], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
