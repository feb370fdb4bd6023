/**
 * A real MariaDB (Debian's `mariadb-server` package) for integration tests: a throwaway
 * instance made by `mariadb-install-db` in a temporary folder, started with `mariadbd` on
 * a free loopback port, removed by `stop()`. `.ci/run` installs the package when it is
 * missing; there is no skip: a missing binary fails with a clear message.
 *
 *   const db = await startMariaDb();   // ~1 s (install-db + start): share one per test file
 *   db.config  → { host, port, user, password, database } for mysql2's createConnection
 *   await db.threadIds(); await db.kill(id); db.freeze(); db.thaw(); await db.restart(); await db.stop();
 *
 * Who runs it: as root (CI) the folder is handed to the `mysql` user (created by the
 * package) and `mariadbd --user=mysql` drops to it; as any other user it runs as that
 * user, who owns the folder.
 *
 * Authentication: the test user connects over TCP on 127.0.0.1 with a password generated
 * per instance. The helper's own statements go as `root` over the unix socket in the
 * (0700) folder, on a short-lived connection of their own, so they keep working while
 * the test user's connections are being killed.
 *
 * Faults: `kill(id)` is `KILL CONNECTION id` (the server closes that connection);
 * `freeze()` is SIGSTOP of the server process (every socket stays open, nothing
 * answers — the helper's own queries too, until `thaw()`); `restart()` is a clean
 * shutdown (SIGTERM: every connection closed) and a start on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './redis-server.js';

/** What a test passes to mysql2's `createConnection(config)`. */
export interface MariaDbConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

const TEST_USER = 'ww_app';
const TEST_DATABASE = 'wirewarden';
const START_TIMEOUT_MS = 20_000;

/** `mariadbd` and `mariadb-install-db`, or a thrown error saying how to get them. */
export function mariaDbBinaries(): { server: string; installDb: string } {
  const find = (name: string, dirs: readonly string[]): string | undefined => {
    for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
    const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : undefined;
  };
  const dirs = [process.env.MARIADB_BIN_DIR, '/usr/sbin', '/usr/bin'].filter((d): d is string => d !== undefined);
  const server = find('mariadbd', dirs);
  const installDb = find('mariadb-install-db', dirs);
  if (server === undefined || installDb === undefined) {
    throw new Error("MariaDB not found (no mariadbd / mariadb-install-db): install Debian's mariadb-server package (.ci/run does)");
  }
  return { server, installDb };
}

/** As root, the `mysql` user's ids (the folder is handed to it, mariadbd drops to it). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'mysql'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("running as root needs the unprivileged 'mysql' user (created by Debian's mariadb-server package)");
  return { uid, gid };
}

function run(argv: readonly string[], timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

export class MariaDbServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly user = TEST_USER;
  readonly database = TEST_DATABASE;
  /** The test user's password (generated per instance). */
  readonly password: string;
  readonly #dir: string;
  readonly #bin: string;
  readonly #asUser: boolean;
  #child: ChildProcess | undefined;
  #frozen = false;
  #stopped = false;

  private constructor(dir: string, bin: string, asUser: boolean, port: number, password: string) {
    this.#dir = dir;
    this.#bin = bin;
    this.#asUser = asUser;
    this.port = port;
    this.password = password;
  }

  static async start(): Promise<MariaDbServer> {
    const bin = mariaDbBinaries();
    const user = serverUser();
    const dir = mkdtempSync(join(tmpdir(), 'ww-maria-'));
    if (user !== undefined) chownSync(dir, user.uid, user.gid);
    const password = randomBytes(18).toString('hex');
    let server: MariaDbServer | undefined;
    try {
      await run([
        bin.installDb, '--no-defaults', `--datadir=${join(dir, 'data')}`, '--auth-root-authentication-method=normal',
        '--skip-test-db', '--skip-name-resolve', ...(user !== undefined ? ['--user=mysql'] : []),
      ]);
      // A port taken between freePort() and the bind is retried with another.
      for (let attempt = 0; ; attempt++) {
        server = new MariaDbServer(dir, bin.server, user !== undefined, await freePort(), password);
        try {
          await server.#spawn();
          break;
        } catch (err) {
          if (attempt === 4) throw err;
        }
      }
      live.add(server);
      await server.query(`CREATE USER '${TEST_USER}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await server.query(`CREATE DATABASE ${TEST_DATABASE}`);
      await server.query(`GRANT ALL ON ${TEST_DATABASE}.* TO '${TEST_USER}'@'127.0.0.1'`);
      return server;
    } catch (err) {
      if (server !== undefined) await server.stop().catch(() => {});
      else rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Connection settings of the test user over TCP (password authentication). */
  get config(): MariaDbConfig {
    return { host: this.host, port: this.port, user: this.user, password: this.password, database: this.database };
  }

  /** `{ host, port }` for `rt.createPool({ endpoints: [server.endpoint] })`. */
  get endpoint(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** `mysql://user:password@127.0.0.1:port/database` (the password is hex: no escaping). */
  get url(): string {
    return `mysql://${this.user}:${this.password}@${this.host}:${this.port}/${this.database}`;
  }

  /** One statement as root over the unix socket, on a connection of its own; resolves with the rows. */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const conn = await mysql.createConnection({ socketPath: this.#socket, user: 'root' });
    try {
      const [rows] = await conn.query(sql, [...params]);
      return (Array.isArray(rows) ? rows : []) as R[];
    } finally {
      await conn.end();
    }
  }

  /** Connection ids (`CONNECTION_ID()`) of the test user's connections. */
  async threadIds(): Promise<number[]> {
    const rows = await this.query<{ id: number }>(
      'SELECT id FROM information_schema.processlist WHERE user = ? ORDER BY id', [this.user],
    );
    return rows.map((r) => Number(r.id));
  }

  /** `KILL CONNECTION id`: the server ends that connection. */
  async kill(id: number): Promise<void> {
    await this.query(`KILL CONNECTION ${Number(id)}`);
  }

  /** SIGSTOP of the server: every connection stays open and nothing answers. */
  freeze(): void {
    if (this.#child?.pid === undefined || this.#frozen) return;
    process.kill(this.#child.pid, 'SIGSTOP');
    this.#frozen = true;
  }

  /** SIGCONT of a frozen server. */
  thaw(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    if (this.#child?.pid !== undefined && this.#child.exitCode === null) process.kill(this.#child.pid, 'SIGCONT');
  }

  /** A clean shutdown (every connection closed), then a start on the same port. */
  async restart(): Promise<void> {
    this.thaw();
    await this.#halt('SIGTERM');
    await this.#spawn();
  }

  /** Stops the server (SIGKILL: the data is thrown away) and removes its folder; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    live.delete(this);
    this.thaw();
    await this.#halt('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** `stop()` for a process that is exiting (no event loop left). */
  stopSync(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const pid = this.#child?.pid;
    if (pid !== undefined && this.#child!.exitCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  get #socket(): string {
    return join(this.#dir, 'sock');
  }

  /** Starts mariadbd; resolves once it accepts connections, rejects (with its log) if it exits first. */
  async #spawn(): Promise<void> {
    const log = join(this.#dir, 'error.log');
    const child = spawn(this.#bin, [
      '--no-defaults', `--datadir=${join(this.#dir, 'data')}`, `--socket=${this.#socket}`, `--port=${this.port}`,
      '--bind-address=127.0.0.1', `--pid-file=${join(this.#dir, 'mariadbd.pid')}`, `--log-error=${log}`,
      '--skip-name-resolve', '--max-connections=200',
      // Throwaway data: durability costs time and buys nothing here.
      '--innodb-buffer-pool-size=16M', '--innodb-flush-log-at-trx-commit=0', '--innodb-doublewrite=0', '--skip-log-bin',
      ...(this.#asUser ? ['--user=mysql'] : []),
    ], { stdio: 'ignore' });
    this.#child = child;
    const exited = once(child, 'exit').then(() => {
      throw new Error(`mariadbd exited while starting:\n${existsSync(log) ? readFileSync(log, 'utf8') : '(no log)'}`);
    });
    exited.catch(() => {});
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const up = await Promise.race([this.#accepts(), exited]);
      if (up) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`mariadbd did not accept connections within ${START_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** True when root can connect over the socket now. */
  async #accepts(): Promise<boolean> {
    if (!existsSync(this.#socket)) return false;
    try {
      const conn = await mysql.createConnection({ socketPath: this.#socket, user: 'root', connectTimeout: 2000 });
      await conn.end();
      return true;
    } catch {
      return false;
    }
  }

  /** Sends `signal` to mariadbd and waits until it exited. */
  async #halt(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}

// A test file that forgets stop() (or fails before it) must not leave a mariadbd behind.
const live = new Set<MariaDbServer>();
process.once('exit', () => {
  for (const server of live) server.stopSync();
});

/** Starts a throwaway MariaDB on a free loopback port. */
export function startMariaDb(): Promise<MariaDbServer> {
  return MariaDbServer.start();
}
