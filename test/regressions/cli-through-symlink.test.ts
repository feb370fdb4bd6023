/**
 * The installed CLI is reached through `node_modules/.bin/wirewarden`, a symlink whose
 * path names neither the bin file nor src/cli.ts. It must run all the same (it printed
 * nothing and exited 0 when the CLI decided by comparing argv[1] with its own path).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [file, ...args], { timeout: 15_000 }, (err, stdout) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

it('prints the usage for --help when started through a .bin-style symlink, once', async () => {
  dir = mkdtempSync(join(tmpdir(), 'ww-bin-'));
  const link = join(dir, 'wirewarden');
  symlinkSync(resolve('bin/wirewarden.js'), link);
  const { code, stdout } = await run(link, ['--help']);
  expect(code).toBe(0);
  expect(stdout).toMatch(/^usage: wirewarden <command>/);
  expect(stdout.match(/usage: wirewarden/g)).toHaveLength(1);
});

it('an unknown command through the symlink is a usage error: exit code 2', async () => {
  dir = mkdtempSync(join(tmpdir(), 'ww-bin-'));
  const link = join(dir, 'wirewarden');
  symlinkSync(resolve('bin/wirewarden.js'), link);
  expect((await run(link, ['no-such-command'])).code).toBe(2);
});
