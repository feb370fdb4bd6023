/**
 * A real Redis Sentinel topology for integration tests: one master, one replica and three
 * sentinels (Debian's redis-server; `redis-server FILE --sentinel` is what the
 * `redis-sentinel` binary runs), each on a free loopback port, with fresh folders and
 * config files each run (sentinel rewrites its file). Quorum 2, `down-after-milliseconds`
 * 1000 by default, so a SIGKILLed master is replaced in ~1.5–2 s (measured in
 * shared/reference/redis-and-metrics.md).
 *
 *   const topo = await startSentinelTopology();
 *   topo.sentinels        // [{ host, port }] × 3
 *   await topo.killMaster();                  // SIGKILL; resolves when the process is gone
 *   await topo.waitForPromotion(10_000);      // until the replica says ROLE master
 *   await topo.waitForMaster('127.0.0.1:…', 10_000); // until every sentinel names it
 *   await topo.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, rawCommands, redisServerBinary, startRedis, type RedisReply, type RedisServer } from './redis-server.js';

export const MASTER_NAME = 'mymaster';

export interface SentinelTopologyOptions {
  /** Sentinel's `down-after-milliseconds`. Default 1000. */
  readonly downAfterMs?: number;
  /** Sentinel's `failover-timeout`. Default 5000. */
  readonly failoverTimeoutMs?: number;
  /** `requirepass` on master and replica (and `masterauth`, `sentinel auth-pass`). */
  readonly password?: string;
}

class SentinelProcess {
  readonly port: number;
  readonly dir: string;
  #proc: ChildProcess | undefined;

  constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  async start(config: string): Promise<void> {
    const file = join(this.dir, 'sentinel.conf');
    writeFileSync(file, config);
    const proc = spawn(redisServerBinary(), [file, '--sentinel'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis sentinel exited (${proc.exitCode}): ${stderr.trim()}`);
      try {
        await rawCommands(this.port, [['PING']], 500);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`sentinel on ${this.port} did not answer within 10 s: ${stderr.trim()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  async kill(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class SentinelTopology {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  readonly #sentinels: SentinelProcess[];

  constructor(master: RedisServer, replica: RedisServer, sentinels: SentinelProcess[]) {
    this.master = master;
    this.replica = replica;
    this.#sentinels = sentinels;
  }

  get sentinels(): { host: string; port: number }[] {
    return this.#sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  /** One command to sentinel `i` over a fresh socket. */
  sentinelCommand(i: number, args: readonly (string | number)[], timeoutMs = 2000): Promise<RedisReply> {
    return rawCommands(this.#sentinels[i]!.port, [args], timeoutMs).then((r) => {
      const last = r.at(-1)!;
      if (last instanceof Error) throw last;
      return last;
    });
  }

  /** What sentinel `i` says the master is (`host:port`), or undefined. */
  async masterSeenBy(i: number): Promise<string | undefined> {
    const reply = await this.sentinelCommand(i, ['SENTINEL', 'get-master-addr-by-name', MASTER_NAME]);
    return Array.isArray(reply) && reply.length === 2 ? `${String(reply[0])}:${String(reply[1])}` : undefined;
  }

  /** SIGKILL the master. */
  killMaster(): Promise<void> {
    return this.master.kill();
  }

  /** SIGKILL one sentinel (a sentinel outage). */
  killSentinel(i: number): Promise<void> {
    return this.#sentinels[i]!.kill();
  }

  /** Resolves once every live sentinel names `host:port` as master; rejects after `timeoutMs`. */
  async waitForMaster(address: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = await Promise.all(this.#sentinels.map((_, i) => this.masterSeenBy(i).catch(() => address)));
      if (seen.every((s) => s === address)) return;
      if (Date.now() > deadline) throw new Error(`sentinels did not agree on ${address} within ${timeoutMs} ms: ${seen.join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Resolves when the replica reports `role:master` (sentinel's promotion); returns the time. */
  async waitForPromotion(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const role = await this.replica.command(['ROLE'], 500).catch(() => undefined);
      if (Array.isArray(role) && role[0] === 'master') return Date.now();
      if (Date.now() > deadline) throw new Error(`replica was not promoted within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#sentinels.map((s) => s.stop()));
    await Promise.all([this.master.stop(), this.replica.stop()]);
  }
}

/**
 * Starts master, replica and three sentinels; resolves when the sentinels see the replica
 * and each other (`SENTINEL CKQUORUM` answers OK with 3 usable sentinels), about 2 s.
 */
export async function startSentinelTopology(options: SentinelTopologyOptions = {}): Promise<SentinelTopology> {
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 5000;
  const auth = options.password === undefined ? [] : ['--masterauth', options.password];
  const master = await startRedis({ password: options.password, args: auth });
  let replica: RedisServer;
  try {
    replica = await startRedis({
      password: options.password,
      args: [...auth, '--replicaof', '127.0.0.1', String(master.port), '--replica-priority', '100'],
    });
  } catch (err) {
    await master.stop();
    throw err;
  }
  const sentinels: SentinelProcess[] = [];
  const topo = new SentinelTopology(master, replica, sentinels);
  try {
    for (let i = 0; i < 3; i++) {
      const s = new SentinelProcess(await freePort(), mkdtempSync(join(tmpdir(), 'ww-sentinel-')));
      sentinels.push(s);
      await s.start(
        [
          `port ${s.port}`,
          'bind 127.0.0.1',
          `dir ${s.dir}`,
          'sentinel resolve-hostnames no',
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
          `sentinel failover-timeout ${MASTER_NAME} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          ...(options.password === undefined ? [] : [`sentinel auth-pass ${MASTER_NAME} ${options.password}`]),
          '',
        ].join('\n'),
      );
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ready = await Promise.all(
        sentinels.map(async (_, i) => {
          const q = await topo.sentinelCommand(i, ['SENTINEL', 'CKQUORUM', MASTER_NAME]).catch(() => '');
          const m = await topo.sentinelCommand(i, ['SENTINEL', 'replicas', MASTER_NAME]).catch(() => []);
          return typeof q === 'string' && q.includes('3 usable') && Array.isArray(m) && m.length === 1;
        }),
      );
      if (ready.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('sentinel topology not ready within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The replica must have synced, or sentinel will not promote it.
    for (;;) {
      const info = await replica.command(['INFO', 'replication']).catch(() => '');
      if (typeof info === 'string' && info.includes('master_link_status:up')) break;
      if (Date.now() > deadline) throw new Error('replica did not sync within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return topo;
  } catch (err) {
    await topo.stop();
    throw err;
  }
}
