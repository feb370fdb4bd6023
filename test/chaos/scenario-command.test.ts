/**
 * `wirewarden chaos run` arguments and file loading: usage errors exit 2 with a message,
 * `--seeds` runs consecutive seeds, files that export no scenario are refused.
 */
import { describe, expect, it } from 'vitest';
import { runChaosCommand } from '../../src/chaos/chaos-command.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

const FIXTURES = 'test/chaos/scenario-fixtures';

describe('wirewarden chaos', () => {
  it.each([
    [[], 'missing command: run'],
    [['walk'], 'unknown chaos command "walk"'],
    [['run'], 'no scenario file given'],
    [['run', 'x.ts', '--seed'], '--seed needs a value'],
    [['run', 'x.ts', '--seed', '-1'], '--seed must be an integer in [0, 4294967295], got "-1"'],
    [['run', 'x.ts', '--seed', '4294967296'], '--seed must be an integer in [0, 4294967295], got "4294967296"'],
    [['run', 'x.ts', '--seeds', '0'], '--seeds must be an integer >= 1, got "0"'],
    [['run', 'x.ts', '--fast'], 'unknown option "--fast"'],
  ])('refuses %j with exit status 2', async (argv, message) => {
    const c = capture();
    expect(await runChaosCommand(argv, c.io)).toBe(2);
    expect(c.err()).toContain(`wirewarden chaos: ${message}`);
    expect(c.err()).toContain('usage: wirewarden chaos run <file...>');
  });

  it('prints its usage on --help', async () => {
    const c = capture();
    expect(await runChaosCommand(['run', '--help'], c.io)).toBe(0);
    expect(c.out()).toContain('--simulated');
  });

  it('refuses files that cannot be loaded or export no scenario, and unknown scenario names', async () => {
    let c = capture();
    expect(await runChaosCommand(['run', `${FIXTURES}/missing.ts`, '--simulated'], c.io)).toBe(2);
    expect(c.err()).toContain(`cannot load ${FIXTURES}/missing.ts`);
    c = capture();
    expect(await runChaosCommand(['run', `${FIXTURES}/not-a-scenario.ts`, '--simulated'], c.io)).toBe(2);
    expect(c.err()).toContain(`${FIXTURES}/not-a-scenario.ts must default-export defineScenario(...) or an array of them`);
    c = capture();
    expect(await runChaosCommand(['run', `${FIXTURES}/two-scenarios.ts`, '--scenario', 'nope', '--simulated'], c.io)).toBe(2);
    expect(c.err()).toContain('no scenario named "nope"');
  });

  it('runs consecutive seeds with --seeds and exits 0 when every run passes', async () => {
    const c = capture();
    expect(await runChaosCommand(['run', 'examples/chaos/slow-server.ts', '--simulated', '--seed=40', '--seeds', '3'], c.io)).toBe(0);
    for (const seed of [40, 41, 42]) expect(c.out()).toContain(`━━ slow-server · simulated network · seed ${seed} ━━`);
    expect(c.out()).toContain('3 runs: 3 passed, 0 failed');
    expect(c.out()).toMatch(/timeline {6}4000 ms in \d+ ms of wall time \([\d.]+× real time\), 4 connections/);
    expect(c.out()).toContain('requests      issued');
    expect(c.err()).toBe('');
  });
});

/** Runs src/cli.ts in a child process; `timedOut` when it had to be killed. */
async function cli(args: readonly string[], timeoutMs = 15_000) {
  const { execFile } = await import('node:child_process');
  return new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { timeout: timeoutMs }, (_err, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr, timedOut: child.signalCode !== null }));
  });
}

describe('the wirewarden binary', () => {
  it('runs `chaos run` through src/cli.ts and exits 1 with the replay command when an invariant breaks', async () => {
    const file = `${FIXTURES}/always-broken.ts`;
    const run = await cli(['chaos', 'run', file, '--simulated', '--seed', '12']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('━━ always-broken · simulated network · seed 12 ━━');
    expect(run.stderr).toContain(`replay: npx wirewarden chaos run ${file} --simulated --seed 12`);
  });

  it("exits with the run's status when the scenario file leaves a server open, naming what is open", async () => {
    const file = `${FIXTURES}/own-server-left-open.ts`;
    const run = await cli(['chaos', 'run', file, '--seed', '3'], 20_000);
    expect(run.timedOut, run.stderr).toBe(false);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('━━ own-server-left-open · real sockets · seed 3 ━━');
    // The progress says what this run starts: a proxy in front of the user's server, not our wire server.
    expect(run.stderr).toMatch(/\+0\.\d s {2}starting a chaos proxy on 127\.0\.0\.1 in front of 127\.0\.0\.1:\d+\n/);
    expect(run.stderr).not.toContain('echo wire server');
    expect(run.stderr).toContain('wirewarden: finished, but the process is still held open by a TCP server listening (TCPServerWrap)');
    expect(run.stderr).toContain('Exiting with status 1');
    // The warning comes after the verdict, once the grace has passed.
    expect(run.stderr.indexOf('FAILED own-server-left-open')).toBeLessThan(run.stderr.indexOf('still held open'));
  });

  it('refuses a target.endpoints scenario with --simulated as a usage error (2), before running anything', async () => {
    const file = `${FIXTURES}/own-server-left-open.ts`;
    const run = await cli(['chaos', 'run', file, '--simulated', '--seed', '3'], 20_000);
    expect(run.timedOut, run.stderr).toBe(false);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      `wirewarden chaos: own-server-left-open (${file}) tests a system already running (target.endpoints), ` +
        'which the simulated network cannot reach: run it without --simulated (real sockets)',
    );
    expect(run.stderr).not.toContain('replay');
  });

  it('a clean run exits at once, without the warning', async () => {
    const started = performance.now();
    const run = await cli(['chaos', 'run', 'examples/chaos/slow-server.ts', '--simulated', '--seed', '1', '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
