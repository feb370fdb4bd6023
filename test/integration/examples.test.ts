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
const examples = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();

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
      const { code, output, timedOut } = await run(file, 20_000);
      expect(timedOut, `${file} did not exit within 20 s:\n${output}`).toBe(false);
      expect(code, output).toBe(0);
    }, 30_000);
  }
});
