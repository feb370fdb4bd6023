/**
 * Every feature doc points at a runnable example; an example that no longer runs is a
 * broken doc. Each one runs in its own process (as a user would run it) and must exit 0
 * by itself — an example that leaves a socket, timer or worker behind never exits, and
 * the timeout fails it. The chaos scenarios in examples/chaos are run by test/chaos.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../examples/', import.meta.url));
/** Examples that need a server of their own, run by their own test with one started. */
const needsServer = new Set([
  'postgres-pool.ts', // test/integration/postgres-example.test.ts
  'mysql2-pool.ts', // test/integration/custom-mysql2.test.ts
]);
/**
 * Examples that start real servers of their own take longer than 20 s on a loaded 2-core
 * machine: redis-sentinel.ts starts a master, a replica and three sentinels and waits for a
 * real failover (~5 s alone, ~14 s next to the rest of the suite).
 */
const slowLimitMs: Record<string, number> = { 'redis-sentinel.ts': 60_000 };
const examples = readdirSync(dir).filter((f) => f.endsWith('.ts') && !needsServer.has(f)).sort();

function run(file: string, limitMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${dir}${file}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

describe('examples', () => {
  it('there are examples to run', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
  });

  for (const file of examples) {
    it(`${file} runs and exits by itself`, async () => {
      const limitMs = slowLimitMs[file] ?? 20_000;
      const { code, output, timedOut } = await run(file, limitMs);
      expect(timedOut, `${file} did not exit within ${limitMs / 1000} s:\n${output}`).toBe(false);
      expect(code, output).toBe(0);
    }, (slowLimitMs[file] ?? 20_000) + 10_000);
  }
});

describe('examples/http-health.ts --serve (a service under a process manager)', () => {
  it('answers /healthz and /readyz from pool.health(), drains on SIGTERM (the request in flight completes) and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${dir}http-health.ts`, '--serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          output += c.toString();
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', () => reject(new Error(`exited before listening:\n${output}`)));
      });
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      expect(await get('/healthz')).toMatchObject({ status: 200, body: { live: true } });
      let ready = await get('/readyz');
      for (let i = 0; i < 100 && ready.status !== 200; i++) ready = await get('/readyz');
      expect(ready).toMatchObject({ status: 200, body: { ready: true, endpoints: [{ state: 'up' }] } });

      const slow = get('/echo?msg=in-flight&delayMs=300');
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      expect(await slow).toEqual({ status: 200, body: { echo: 'in-flight' } });
      expect(await exited, output).toBe(0);
      expect(output).toContain('SIGTERM: not ready any more, draining');
      expect(output).toContain('shut down cleanly');
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
