/**
 * A real `redis-server` (Debian's package) for integration tests: started by the test on
 * a free loopback port, no persistence, no service, stopped (and its folder removed) by
 * the test. `.ci/run` installs the package when it is missing; locally `apt-get install
 * redis-server`. There is no skip: a missing binary fails the test with a clear message.
 *
 *   const redis = await startRedis({ password: 'pw' });
 *   redis.port … await redis.freeze(); await redis.thaw(); await redis.kill(); await redis.restart();
 *   await redis.stop();
 *
 * Faults: `freeze()` is SIGSTOP (a frozen process: the kernel still accepts connections
 * into the backlog, nothing answers), `kill()` is SIGKILL (connections reset), `restart()`
 * starts a new process on the same port. `command()` talks RESP over its own short-lived
 * socket, independent of wirewarden.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** `requirepass`: the default user needs this password. */
  readonly password?: string;
  /** Extra `redis-server` arguments (`['--maxmemory', '10mb']`). */
  readonly args?: readonly string[];
}

export type RedisReply = string | number | null | RedisReply[] | Error;

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** The path of redis-server, or a thrown error that says how to get it. */
export function redisServerBinary(): string {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(`redis-server not found (${BINARY}): install Debian's redis-server package (.ci/run does)`);
  }
  return BINARY;
}

/** A free TCP port on 127.0.0.1 (bound and released; the server binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly options: RedisServerOptions;
  readonly #dir: string;
  #proc: ChildProcess | undefined;
  #stopped = false;

  private constructor(port: number, options: RedisServerOptions, dir: string) {
    this.port = port;
    this.options = options;
    this.#dir = dir;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    redisServerBinary();
    const dir = mkdtempSync(join(tmpdir(), 'ww-redis-'));
    // A port taken between freePort() and the bind is retried with another.
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new RedisServer(await freePort(), options, dir);
      try {
        await server.#spawn();
        return server;
      } catch (err) {
        if (attempt === 4) {
          rmSync(dir, { recursive: true, force: true });
          throw err;
        }
      }
    }
    throw new Error('unreachable');
  }

  /** The running process's pid (undefined after kill/stop). */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Endpoint shape for `rt.createPool({ endpoints: [redis.endpoint] })`. */
  get endpoint(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  async #spawn(): Promise<void> {
    const args = [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.#dir, '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
      '--enable-debug-command', 'local',
      ...(this.options.password === undefined ? [] : ['--requirepass', this.options.password]),
      ...(this.options.args ?? []),
    ];
    const proc = spawn(BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}): ${stderr.trim()}`)));
      proc.once('error', reject);
    });
    exited.catch(() => {});
    // Ready when it answers PING (NOAUTH counts: it is up).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await Promise.race([this.#answers(), exited]);
      if (up) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server on port ${this.port} did not answer within 10 s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #answers(): Promise<boolean> {
    try {
      await this.command(['PING'], 500);
      return true;
    } catch (err) {
      return err instanceof Error && /NOAUTH|WRONGPASS/.test(err.message);
    }
  }

  /**
   * One command over a fresh socket (AUTH first when the server has a password);
   * resolves with the reply, rejects with an `Error` reply or a socket failure.
   */
  command(args: readonly (string | number)[], timeoutMs = 5000): Promise<RedisReply> {
    const pre: (readonly (string | number)[])[] = this.options.password === undefined ? [] : [['AUTH', this.options.password]];
    return rawCommands(this.port, [...pre, args], timeoutMs).then((replies) => {
      const last = replies.at(-1)!;
      if (last instanceof Error) throw last;
      return last;
    });
  }

  /** SIGSTOP: the process stops answering; connections stay open. */
  freeze(): void {
    this.#proc?.kill('SIGSTOP');
  }

  /** SIGCONT. */
  thaw(): void {
    this.#proc?.kill('SIGCONT');
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await gone;
  }

  /** A new process on the same port (after `kill`), ready when it answers. */
  async restart(): Promise<void> {
    if (this.#proc !== undefined) await this.kill();
    await this.#spawn();
  }

  /** Kills the process and removes its folder; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Starts a throwaway redis-server on a free loopback port. */
export function startRedis(options?: RedisServerOptions): Promise<RedisServer> {
  return RedisServer.start(options);
}

// ── a minimal RESP client, independent of the code under test ──

function encode(args: readonly (string | number)[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) {
    const s = String(a);
    parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

/** Parses one reply at `buf[pos]`; returns [value, next] or undefined when incomplete. */
function parse(buf: Buffer, pos: number): [RedisReply, number] | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new Error(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return undefined;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out: RedisReply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r === undefined) return undefined;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

/** Sends `commands` pipelined on one new socket; resolves with every reply. */
export function rawCommands(port: number, commands: readonly (readonly (string | number)[])[], timeoutMs = 5000): Promise<RedisReply[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const replies: RedisReply[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on port ${port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(Buffer.concat(commands.map(encode))));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let pos = 0;
      for (;;) {
        const r = parse(buf, pos);
        if (r === undefined) break;
        replies.push(r[0]);
        pos = r[1];
      }
      buf = buf.subarray(pos);
      if (replies.length >= commands.length) {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (replies.length < commands.length) reject(new Error(`redis on port ${port} closed after ${replies.length} replies`));
    });
  });
}
