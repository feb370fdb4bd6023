/**
 * prom-client and @opentelemetry/api are optional peers: importing wirewarden must not
 * load them, so a user without them is unaffected. Checked twice: no source file imports
 * either as a value (type imports are erased), and a process that cannot resolve them
 * imports the whole public API and runs a pool.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PEERS = ['prom-client', '@opentelemetry/api'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => `${e.parentPath}/${e.name}`);
}

describe('optional peer dependencies', () => {
  it('no file under src/ imports prom-client or @opentelemetry/api as a value', () => {
    const offenders: string[] = [];
    for (const file of sources(`${root}src`)) {
      const text = readFileSync(file, 'utf8');
      for (const [statement] of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)) {
        if (PEERS.some((p) => statement.includes(`'${p}'`) || statement.includes(`'${p}/`))) offenders.push(`${file}: ${statement.trim()}`);
      }
      for (const p of PEERS) if (text.includes(`import('${p}`)) offenders.push(`${file}: dynamic import of ${p}`);
    }
    expect(offenders).toEqual([]);
  });

  it('a process that cannot resolve either imports wirewarden and runs a pool', () => {
    // Any resolution of the peers fails in this process, as if they were not installed.
    const hide = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (${JSON.stringify(PEERS)}.some((p) => request === p || request.startsWith(p + '/'))) {
          const err = new Error("Cannot find module '" + request + "'"); err.code = 'MODULE_NOT_FOUND'; throw err;
        }
        return resolve.call(this, request, ...rest);
      };`;
    const script = `
      const ww = await import(${JSON.stringify(`${root}src/index.ts`)});
      const server = ww.createWireServer({ handler: (p) => p });
      const { port } = await server.listen();
      const rt = ww.createRuntime();
      const pool = rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: ww.wire(), max: 1 });
      const reply = await pool.use((conn) => conn.request('hi'));
      let otel = 'no error';
      try { ww.createOpenTelemetry(rt); } catch (e) { otel = e.code + ': ' + e.message; }
      await rt.shutdown();
      await server.close();
      console.log(JSON.stringify({ reply, otel }));`;
    const dir = mkdtempSync(`${tmpdir()}/ww-peers-`);
    writeFileSync(`${dir}/hide-peers.cjs`, hide);
    const run = spawnSync(process.execPath, ['--require', `${dir}/hide-peers.cjs`, '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root, encoding: 'utf8', timeout: 30_000,
    });
    rmSync(dir, { recursive: true, force: true });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { reply: string; otel: string };
    expect(out.reply).toBe('hi');
    expect(out.otel).toMatch(/^WW_INVALID_OPTION: createOpenTelemetry needs the optional peer dependency @opentelemetry\/api/);
  });
});
