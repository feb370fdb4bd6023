/**
 * `npm run fuzz` (fuzz/run.ts): flags, exit codes, and the determinism a replay needs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../fuzz/campaign.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

async function fuzz(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'fuzz/run.ts', ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run fuzz', () => {
  it('runs the named target with the given size and seed, prints the table, exits 0', async () => {
    const { code, stdout } = await fuzz('--target', 'resp-parser', '--inputs', '300', '--seed', '42');
    expect(code).toBe(0);
    expect(stdout).toContain('seed 42');
    expect(stdout).toMatch(/\| resp-parser \| 300 \| 300 \| 0 \| 0 \| 0 \|/);
  });

  it('exits 2 on a bad argument or an unknown target, naming it', async () => {
    const bad = await fuzz('--inputs', 'many');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--inputs needs a non-negative integer, got many');
    const unknown = await fuzz('--target', 'nope', '--inputs', '1');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown target "nope"');
  });
});

describe('determinism', () => {
  it('feeds the same inputs for the same seed, others for another', async () => {
    const summary = async (seed: number) => {
      const reports = await runFuzz({ targets: ['wire-codec', 'resp-parser'], inputs: 1500, seed });
      return reports.map((r) => ({ inputs: r.inputs, cases: r.cases, counts: r.counts }));
    };
    const first = await summary(3);
    expect(await summary(3)).toEqual(first);
    // wire-codec cases hold a random number of frames: another seed groups them otherwise.
    expect((await summary(4))[0]!.cases).not.toBe(first[0]!.cases);
  });
});
