/**
 * A real PostgreSQL (Debian's `postgresql` package) for integration tests and benches: a
 * throwaway cluster made by `initdb` in a temporary folder, started on a free loopback
 * port, removed by `stop()`. `.ci/run` installs the package when it is missing; there is
 * no skip: a missing binary fails with a clear message.
 *
 *   const pg = await startPostgres();   // ~1–2 s (initdb + start): share one per test file
 *   pg.config  → { host, port, user, password, database } for `new pg.Client(...)`
 *   await pg.backendPids(); await pg.freezeBackends(); await pg.thawBackends();
 *   await pg.terminate(pid); await pg.restart(); await pg.stop();
 *
 * Who runs it: PostgreSQL refuses to run as root, so as root (CI) every server command runs
 * as the unprivileged `postgres` user (`runuser -u postgres --`) and the folder is handed
 * to it; as any other user the commands run as that user, who owns the folder.
 *
 * Authentication: TCP on 127.0.0.1 requires a password (scram-sha-256) for the test role,
 * a generated one per cluster. The helper's own queries go as the superuser over the unix
 * socket in the (0700) folder, trusted, so they keep working while the test role's
 * backends are frozen or being terminated.
 *
 * Faults: `freezeBackends()` is SIGSTOP of the test role's backend processes (their sockets
 * stay open, nothing answers; new connections still get fresh backends), `freezeServer()`
 * also stops the postmaster (new connections sit in the kernel's backlog, unanswered).
 * `restart()` is `pg_ctl restart -m fast` (every connection closed, same port).
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis-server.js';

/** What a test passes to `new pg.Client(config)` or `new pg.Pool(config)`. */
export interface PostgresConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

const TEST_ROLE = 'ww_app';
const TEST_DATABASE = 'wirewarden';
const SUPERUSER = 'postgres';

/** The folder holding initdb, pg_ctl and postgres (newest installed version), or a thrown error saying how to get it. */
export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN_DIR;
  if (fromEnv !== undefined && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return join(root, versions[0]!, 'bin');
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return join(which.stdout.trim(), '..');
  throw new Error("PostgreSQL not found (no /usr/lib/postgresql/<version>/bin/initdb): install Debian's postgresql package (.ci/run does)");
}

/** As root, the argv prefix and ownership that run server commands as `postgres`. */
function serverUser(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("running as root needs the unprivileged 'postgres' user (created by Debian's postgresql package)");
  return { prefix: ['runuser', '-u', 'postgres', '--'], uid, gid };
}

function run(argv: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

export class PostgresServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly user = TEST_ROLE;
  readonly database = TEST_DATABASE;
  /** The test role's password (generated per cluster). */
  readonly password: string;
  readonly #dir: string;
  readonly #bin: string;
  readonly #prefix: readonly string[];
  #frozen: number[] = [];
  #stopped = false;

  private constructor(dir: string, bin: string, prefix: readonly string[], port: number, password: string) {
    this.#dir = dir;
    this.#bin = bin;
    this.#prefix = prefix;
    this.port = port;
    this.password = password;
  }

  static async start(): Promise<PostgresServer> {
    const bin = postgresBinDir();
    const user = serverUser();
    const dir = mkdtempSync(join(tmpdir(), 'ww-pg-'));
    if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
    const password = randomBytes(18).toString('hex');
    let server: PostgresServer | undefined;
    try {
      await run([...user.prefix, join(bin, 'initdb'), '-D', join(dir, 'data'), '-U', SUPERUSER, '-A', 'trust', '-N', '-E', 'UTF8', '--locale=C']);
      writeFileSync(join(dir, 'data', 'pg_hba.conf'), [
        '# the helper itself, over the unix socket in a folder only the server user can enter',
        `local all ${SUPERUSER} trust`,
        'local all all scram-sha-256',
        'host all all 127.0.0.1/32 scram-sha-256',
        '',
      ].join('\n'));
      if (user.uid !== undefined) chownSync(join(dir, 'data', 'pg_hba.conf'), user.uid, user.gid!);
      // A port taken between freePort() and the bind is retried with another (a later line wins).
      for (let attempt = 0; ; attempt++) {
        const port = await freePort();
        appendFileSync(join(dir, 'data', 'postgresql.conf'), [
          '',
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = '${dir}'`,
          // Throwaway data: durability costs time and buys nothing here.
          'fsync = off', 'synchronous_commit = off', 'full_page_writes = off',
          'shared_buffers = 32MB', 'max_connections = 120',
          '',
        ].join('\n'));
        server = new PostgresServer(dir, bin, user.prefix, port, password);
        try {
          await server.#pgCtl(['start', '-w', '-t', '30', '-l', join(dir, 'server.log')]);
          break;
        } catch (err) {
          if (attempt === 4) throw err;
        }
      }
      live.add(server);
      await server.query(`CREATE ROLE ${TEST_ROLE} LOGIN PASSWORD '${password}'`, [], 'postgres');
      await server.query(`CREATE DATABASE ${TEST_DATABASE} OWNER ${TEST_ROLE}`, [], 'postgres');
      return server;
    } catch (err) {
      if (server !== undefined) await server.stop().catch(() => {});
      else rmSync(dir, { recursive: true, force: true });
      const log = join(dir, 'server.log');
      throw existsSync(log) ? new Error(`${(err as Error).message}\nserver log:\n${readFileSync(log, 'utf8')}`) : err;
    }
  }

  /** Connection settings of the test role over TCP (password authentication). */
  get config(): PostgresConfig {
    return { host: this.host, port: this.port, user: this.user, password: this.password, database: this.database };
  }

  /** `{ host, port }` for `rt.createPool({ endpoints: [server.endpoint] })`. */
  get endpoint(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** `postgres://user:password@127.0.0.1:port/database` (the password is hex: no escaping). */
  get connectionString(): string {
    return `postgres://${this.user}:${this.password}@${this.host}:${this.port}/${this.database}`;
  }

  /** The postmaster's pid (first line of postmaster.pid). */
  get postmasterPid(): number {
    return Number(readFileSync(join(this.#dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /**
   * One statement as the superuser over the unix socket, on a short-lived connection of
   * its own (independent of the code under test); resolves with the rows.
   */
  async query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], database: string = this.database): Promise<R[]> {
    const client = new pg.Client({ host: this.#dir, port: this.port, user: SUPERUSER, database });
    await client.connect();
    try {
      return (await client.query<R>(sql, params as unknown[])).rows;
    } finally {
      await client.end();
    }
  }

  /** Backend pids of the test role's connections (client backends only). */
  async backendPids(): Promise<number[]> {
    const rows = await this.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'client backend' ORDER BY pid",
      [this.user],
    );
    return rows.map((r) => r.pid);
  }

  /** SIGSTOP of the test role's backends; resolves with the pids stopped. */
  async freezeBackends(): Promise<number[]> {
    const pids = await this.backendPids();
    for (const pid of pids) this.#signal(pid, 'SIGSTOP');
    this.#frozen.push(...pids);
    return pids;
  }

  /** SIGSTOP of the postmaster and every process it started: the whole server is silent. */
  freezeServer(): number[] {
    const postmaster = this.postmasterPid;
    const pids = [postmaster, ...childPids(postmaster)];
    for (const pid of pids) this.#signal(pid, 'SIGSTOP');
    this.#frozen.push(...pids);
    return pids;
  }

  /** SIGCONT of everything frozen. */
  thaw(): void {
    for (const pid of this.#frozen.splice(0)) this.#signal(pid, 'SIGCONT');
  }

  /** Alias of `thaw()`, the counterpart of `freezeBackends()`. */
  thawBackends(): void {
    this.thaw();
  }

  /** `pg_terminate_backend(pid)`: the backend exits, its client sees the connection end. */
  async terminate(pid: number): Promise<void> {
    const [row] = await this.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
    if (row?.ok !== true) throw new Error(`pg_terminate_backend(${pid}) found no such backend`);
  }

  /** `pg_ctl restart -m fast`: every connection closed, back on the same port when it resolves. */
  async restart(): Promise<void> {
    this.thaw();
    await this.#pgCtl(['restart', '-m', 'fast', '-w', '-t', '30', '-l', join(this.#dir, 'server.log')]);
  }

  /** Stops the server (immediate) and removes its folder; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    live.delete(this);
    this.thaw();
    await this.#pgCtl(['stop', '-m', 'immediate', '-w', '-t', '30']).catch(() => {});
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** `stop()` for a process that is exiting (no event loop left). */
  stopSync(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.thaw();
    spawnSync(this.#prefix[0] ?? join(this.#bin, 'pg_ctl'), [
      ...this.#prefix.slice(1), ...(this.#prefix.length > 0 ? [join(this.#bin, 'pg_ctl')] : []),
      '-D', join(this.#dir, 'data'), 'stop', '-m', 'immediate', '-w', '-t', '30',
    ], { stdio: 'ignore' });
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #pgCtl(args: readonly string[]): Promise<string> {
    return run([...this.#prefix, join(this.#bin, 'pg_ctl'), '-D', join(this.#dir, 'data'), ...args], 60_000);
  }

  #signal(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone
    }
  }
}

// A test file that forgets stop() (or fails before it) must not leave a postmaster behind:
// it runs detached from this process, so nothing else would end it.
const live = new Set<PostgresServer>();
process.once('exit', () => {
  for (const server of live) server.stopSync();
});

/** Direct children of `pid` (Linux: the ppid field of /proc/<n>/stat). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …" — comm may hold spaces, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process exited while we read
    }
  }
  return out;
}

/** Starts a throwaway PostgreSQL cluster on a free loopback port. */
export function startPostgres(): Promise<PostgresServer> {
  return PostgresServer.start();
}
