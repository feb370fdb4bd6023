/**
 * examples/postgres-pool.ts runs as a user runs it (its own process, `DATABASE_URL` set)
 * against a throwaway cluster, and exits 0 by itself: no socket, timer or client left.
 * The generic examples test skips it by name (it needs a server); this one starts one.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { backendsAfterClose, usePostgres } from './postgres-fixture.js';

const file = fileURLToPath(new URL('../../examples/postgres-pool.ts', import.meta.url));
const server = usePostgres();

function run(env: Record<string, string | undefined>, limitMs = 20_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

it('examples/postgres-pool.ts pools pg.Clients on DATABASE_URL, shows the reset session and exits 0 by itself', async () => {
  const { code, output } = await run({ DATABASE_URL: server().connectionString });
  expect(code, output).toBe(0);
  expect(output).toMatch(/^connected: PostgreSQL \d+/m);
  expect(output).toContain("next lease: { tx: 'I', statementTimeout: '0', scratch: null }");
  expect(output).toContain('8 concurrent queries: 0 2 4 6 8 10 12 14');
  expect(output).not.toContain(server().password);
  // Its pool closed every client: the role has no backend left.
  expect(await backendsAfterClose(server())).toEqual([]);
}, 30_000);

it('without DATABASE_URL it says what to set and exits 2', async () => {
  const { code, output } = await run({ DATABASE_URL: undefined });
  expect(code).toBe(2);
  expect(output).toContain('set DATABASE_URL=postgres://');
}, 30_000);
