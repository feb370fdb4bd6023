/**
 * The package as users install it. A copy of the checkout is packed with `npm pack` (its
 * prepack builds dist/), the tarball is installed into a fresh ESM project, and from
 * there: the bin through node_modules/.bin, npx and npm exec, the proxy answering its
 * API, chaos runs on a shipped scenario and on the user's own .mjs and .ts files, import
 * and require, and the types. Each of these once broke in the installed package while
 * every test of the checkout passed.
 *
 * The pack runs in a copy so that the checkout's dist/ is never rewritten under tests
 * running beside this one. Child processes get no npm_* variables: under `npm test` they
 * would point npm at the checkout (npm_config_local_prefix) instead of the temp project.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
/** Not copied for packing: installed, generated or local to this machine. */
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', '.ci', 'coverage']);

const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE_OPTIONS'),
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], cwd: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (_err, stdout, stderr) => {
      done({ code: child.exitCode, stdout, stderr });
    });
  });
}

let work: string;
let project: string;
let bin: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ww-package-'));
  const pkg = join(work, 'pkg');
  cpSync(REPO, pkg, { recursive: true, filter: (src) => !NOT_COPIED.has(src.slice(REPO.length + 1).split(/[\\/]/)[0]!) });
  symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'), 'junction');
  const packed = await run('npm', ['pack', '--pack-destination', work], pkg, 120_000);
  expect(packed.code, packed.stderr).toBe(0);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();

  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'ww-install-check', private: true, type: 'module' }));
  const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball!)], project, 150_000);
  expect(installed.code, installed.stderr).toBe(0);
  bin = join(project, 'node_modules', '.bin', 'wirewarden');
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// Each test starts several Node processes (npx and npm exec cost ~1 s each): room for a loaded CI machine.
describe('the installed package', { timeout: 60_000 }, () => {
  it('depends on what runs: no tsx, esbuild or TypeScript in the project', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/wirewarden/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['msgpackr', 'piscina', 'rxjs', 'ws', 'xstate']);
    expect(manifest.peerDependenciesMeta?.tsx?.optional).toBe(true);
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest']) expect(existsSync(join(project, 'node_modules', dev)), dev).toBe(false);
    // Compiled code and the shipped scenarios; no benchmarks (they need dev-only peers).
    const root = join(project, 'node_modules/wirewarden');
    expect(existsSync(join(root, 'dist/cli.js'))).toBe(true);
    expect(existsSync(join(root, 'dist/examples/chaos/slow-server.js'))).toBe(true);
    expect(existsSync(join(root, 'bench'))).toBe(false);
    // TypeScript 5/6 under moduleResolution node10 reads no "exports": typesVersions maps the subpath.
    const { typesVersions } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { typesVersions: Record<string, Record<string, string[]>> };
    expect(typesVersions['*']!.chaos).toEqual(['dist/chaos/index.d.ts']);
    expect(existsSync(join(root, 'dist/chaos/index.d.ts'))).toBe(true);
  });

  it('runs its bin through node_modules/.bin, npx and npm exec, with help and exit codes', async () => {
    const help = await run(bin, ['--help'], project);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: wirewarden <command>/);
    expect(help.stdout).toContain('chaos run');
    expect(help.stdout).not.toContain('bench'); // not offered where it cannot run

    const npx = await run('npx', ['--no-install', 'wirewarden', '--version'], project);
    expect(npx).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const exec = await run('npm', ['exec', '--', 'wirewarden', 'chaos', '--help'], project);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toContain('usage: wirewarden chaos run');
    expect(exec.stdout).toMatch(/A bare name runs a scenario shipped with wirewarden:\n {2}.*\bslow-server\b/);

    for (const command of ['proxy', 'demo', 'chaos']) {
      const r = await run(bin, [command, '--help'], project);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toMatch(new RegExp(`^usage: wirewarden ${command}`));
    }
    const bench = await run(bin, ['bench', 'pool'], project);
    expect(bench.code).toBe(2);
    expect(bench.stderr).toContain('benchmarks are not part of the installed package');
    expect((await run(bin, ['frobnicate'], project)).code).toBe(2);
    expect((await run(bin, [], project)).code).toBe(2);
    const badOption = await run(bin, ['demo', '--colour'], project);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("Unknown option '--colour'");
    expect(badOption.stderr).not.toContain('    at '); // a usage error, not a stack trace
  });

  it('serves the proxy API on 127.0.0.1 and stops cleanly on SIGTERM', async () => {
    const child = spawn(bin, ['proxy', '--port', '0'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const url = await new Promise<string>((found, fail) => {
      const timer = setTimeout(() => fail(new Error(`no API address within 15 s; stdout: ${stdout}`)), 15_000);
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          found(m[1]!);
        }
      });
    });
    try {
      const version = await fetch(`${url}/version`);
      expect(version.status).toBe(200);
      const proxies = await fetch(`${url}/proxies`);
      expect(await proxies.json()).toEqual({});
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain('wirewarden proxy: stopped');
  });

  it('runs a shipped scenario by name and by path, without TypeScript', async () => {
    const byName = await run(bin, ['chaos', 'run', 'slow-server', '--simulated', '--seed', '7'], project);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stdout).toContain('━━ slow-server · simulated network · seed 7 ━━');
    expect(byName.stdout).toContain('PASSED');
    expect(byName.stderr).toBe('');

    const path = 'node_modules/wirewarden/dist/examples/chaos/blackholed-server.js';
    const byPath = await run(bin, ['chaos', 'run', path, '--simulated', '--seed', '7'], project);
    expect(byPath.code, byPath.stderr).toBe(0);
    expect(byPath.stdout).toContain('━━ blackholed-server · simulated network · seed 7 ━━');

    // Several seeds run on worker threads: the compiled worker (dist/chaos/seed-worker.js).
    const sweep = await run(bin, ['chaos', 'run', 'slow-server', '--simulated', '--seed', '7', '--seeds', '3', '--workers', '2'], project);
    expect(sweep.code, sweep.stderr).toBe(0);
    expect(sweep.stdout).toContain('3 runs: 3 passed, 0 failed');
    expect(sweep.stderr).toBe('');
  });

  it("runs the user's .mjs scenario on real sockets, printing its phases as they happen", async () => {
    writeFileSync(join(project, 'short.mjs'), `
      import { defineScenario, everyRequestSucceeds, noLostOrDuplicatedRequests, nothingLeftRunning } from 'wirewarden/chaos';
      export default defineScenario({
        name: 'short', durationMs: 600, connections: 2,
        timeline: [{ atMs: 200, label: 'replies 20 ms late', action: (ctx) => ctx.link.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 20 } }) }],
        invariants: [everyRequestSucceeds(), noLostOrDuplicatedRequests(), nothingLeftRunning()],
      });
    `);
    const r = await run(bin, ['chaos', 'run', 'short.mjs', '--seed', '3'], project);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('━━ short · real sockets · seed 3 ━━');
    const order = ['short · real sockets · seed 3', 'starting', 'warming up', 'timeline running', '▶ replies 20 ms late', 'draining', 'tearing down'];
    const at = order.map((text) => r.stderr.indexOf(text));
    expect(at.every((i) => i >= 0), r.stderr).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('loads a .ts scenario with tsx when the user has it, and says how to get it otherwise', async () => {
    const scenario = `
      import { defineScenario, nothingLeftRunning, type Scenario } from 'wirewarden/chaos';
      const scenario: Scenario = defineScenario({ name: 'typed', durationMs: 300, connections: 1, invariants: [nothingLeftRunning()] });
      export default scenario;
    `;
    writeFileSync(join(project, 'typed.ts'), scenario);
    const without = await run(bin, ['chaos', 'run', 'typed.ts', '--simulated'], project);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('cannot load typed.ts: a TypeScript scenario needs tsx');
    expect(without.stderr).toContain('npm install --save-dev tsx');

    // A directory of the user's with tsx installed (linked from the checkout: no download).
    const withTsx = join(project, 'with-tsx');
    mkdirSync(join(withTsx, 'node_modules'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules/tsx'), join(withTsx, 'node_modules/tsx'), 'junction');
    writeFileSync(join(withTsx, 'typed.ts'), scenario);
    const withIt = await run(bin, ['chaos', 'run', 'with-tsx/typed.ts', '--simulated', '--seed', '1'], project);
    expect(withIt.code, withIt.stderr).toBe(0);
    expect(withIt.stdout).toContain('━━ typed · simulated network · seed 1 ━━');
    // On worker threads too (a seed sweep), where a registered loader does not apply.
    const swept = await run(bin, ['chaos', 'run', 'with-tsx/typed.ts', '--simulated', '--seed', '1', '--seeds', '2', '--workers', '2'], project);
    expect(swept.code, swept.stderr).toBe(0);
    expect(swept.stdout).toContain('2 runs: 2 passed, 0 failed');
  });

  it('imports from ESM and requires from CommonJS, one module instance for both', async () => {
    writeFileSync(join(project, 'esm.mjs'), `
      import { createRequire } from 'node:module';
      import * as ww from 'wirewarden';
      import * as chaos from 'wirewarden/chaos';
      const require = createRequire(import.meta.url);
      const rt = ww.createRuntime();
      await rt.shutdown();
      console.log(typeof chaos.defineScenario, require('wirewarden').createRuntime === ww.createRuntime);
    `);
    const esm = await run(process.execPath, ['esm.mjs'], project);
    expect(esm).toMatchObject({ code: 0, stdout: 'function true\n' });

    writeFileSync(join(project, 'cjs.cjs'), `
      const { createRuntime } = require('wirewarden');
      const { defineScenario, runScenario } = require('wirewarden/chaos');
      const rt = createRuntime();
      rt.shutdown().then(() => console.log(typeof defineScenario, typeof runScenario, rt.state));
    `);
    const cjs = await run(process.execPath, ['cjs.cjs'], project);
    expect(cjs.stderr).toBe('');
    expect(cjs).toMatchObject({ code: 0, stdout: 'function function stopped\n' });
  });

  it("gives TypeScript users the package's types through its exports, complete and without internals", async () => {
    // A user's TypeScript project has @types/node (linked from the checkout: no download).
    mkdirSync(join(project, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules/@types/node'), join(project, 'node_modules/@types/node'), 'junction');
    // skipLibCheck off: every declaration file the entry points reach must check, so one
    // stripped by stripInternal while another still names it fails here.
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files: ['consumer.ts'],
    }));
    writeFileSync(join(project, 'consumer.ts'), `
      import { createRuntime, type Lease, type Runtime, type RespSession, type WireSession } from 'wirewarden';
      import { defineScenario, type Scenario } from 'wirewarden/chaos';
      const rt: Runtime = createRuntime();
      const s: Scenario = defineScenario({ name: 'x', durationMs: 100 });
      // @ts-expect-error: the name is a string
      defineScenario({ name: 1, durationMs: 100 });
      // Package plumbing tagged @internal is not in the public types.
      declare const lease: Lease<unknown>;
      declare const wireSession: WireSession;
      declare const respSession: RespSession;
      // @ts-expect-error: the pool marks a lease lost, not its holder
      lease.markLost('gone');
      // @ts-expect-error: the pool's and subscriber's hook into the runtime
      rt.register({ close: async () => {} });
      // @ts-expect-error: the protocol runs the handshake
      void wireSession.hello(undefined, AbortSignal.timeout(1));
      // @ts-expect-error: the stream's listener
      respSession.receive(Buffer.alloc(0));
      export { rt, s };
    `);
    const tsc = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', '.'], project);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  });
});
