/**
 * The metrics docs and example stay true: docs/observability.md lists every metric of the
 * catalog with its labels, and examples/metrics.ts --serve serves a scrape on 127.0.0.1
 * that a client can read until it is told to stop (then exits 0). The examples test runs
 * the example without --serve.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../src/observe/metric-catalog.js';
import { value } from './helpers/scrape.js';

const docs = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');

describe('docs/observability.md', () => {
  it('has a row for every metric, with its type and labels', () => {
    for (const m of METRICS) {
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${m.name}\` |`));
      expect(row, m.name).toBeDefined();
      expect(row).toContain(`| ${m.kind} |`);
      expect(row).toContain(`| ${m.labels.join(', ')} |`);
    }
  });
});

describe('examples/metrics.ts --serve', () => {
  it('serves wirewarden metrics on 127.0.0.1 and exits 0 on SIGTERM', async () => {
    const file = fileURLToPath(new URL('../../examples/metrics.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', file, '--serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          output += c.toString();
          const m = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(output);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`exited before serving:\n${output}`)));
      });
      const res = await fetch(url, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(value(text, 'wirewarden_pool_open_connections', { pool: 'backend' })).toBe(2);
      expect(value(text, 'wirewarden_pool_acquires_total', { pool: 'backend' })).toBe(20);
      expect(text).not.toContain('example-token');
      child.kill('SIGTERM');
      expect(await exited, output).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});
