/**
 * `redisSentinel()` against scripted sentinels on loopback, for replies a healthy Sentinel
 * does not give: SUBSCRIBE refused (an ACL user without channel access), a named master
 * that keeps saying it is a replica while the pool hints READONLY, a slow reply cut by
 * `stop()`, a malformed address.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { asyncScheduler, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscoveryError } from '../../src/errors.js';
import { redisSentinel } from '../../src/pool/redis-sentinel.js';
import type { Endpoint } from '../../src/transport/types.js';

type Script = (command: string[], socket: Socket, port: number) => void;

interface FakeSentinel {
  readonly port: number;
  readonly counts: Record<string, number>;
  connections: number;
  /** Connections the client has closed (seen from the server side). */
  closed: number;
  readonly server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Splits complete RESP arrays of bulk strings off `buf`. */
function parseCommands(buf: Buffer): [string[][], Buffer] {
  const out: string[][] = [];
  let i = 0;
  const s = buf.toString('latin1');
  for (;;) {
    const m = /^\*(\d+)\r\n/.exec(s.slice(i));
    if (m === null) break;
    let j = i + m[0].length;
    const args: string[] = [];
    let complete = true;
    for (let k = 0; k < Number(m[1]); k++) {
      const b = /^\$(\d+)\r\n/.exec(s.slice(j));
      if (b === null) {
        complete = false;
        break;
      }
      j += b[0].length;
      const len = Number(b[1]);
      if (s.length < j + len + 2) {
        complete = false;
        break;
      }
      args.push(s.slice(j, j + len));
      j += len + 2;
    }
    if (!complete) break;
    out.push(args);
    i = j;
  }
  return [out, buf.subarray(i)];
}

const bulk = (v: string): string => `$${Buffer.byteLength(v)}\r\n${v}\r\n`;

async function fakeSentinel(script: Script): Promise<FakeSentinel> {
  const fake = { counts: {} as Record<string, number>, connections: 0, closed: 0 } as { counts: Record<string, number>; connections: number; closed: number; port: number; server: Server };
  const server = createServer((socket) => {
    fake.connections++;
    let pending: Buffer = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('close', () => fake.closed++);
    socket.on('data', (chunk: Buffer) => {
      let commands: string[][];
      [commands, pending] = parseCommands(Buffer.concat([pending, chunk]));
      for (const c of commands) {
        const name = c[0]!.toUpperCase();
        fake.counts[name] = (fake.counts[name] ?? 0) + 1;
        if (name === 'PING') socket.write('+PONG\r\n');
        else script(c, socket, fake.port);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.port = (server.address() as AddressInfo).port;
  fake.server = server;
  return fake;
}

const masterHere = (socket: Socket, port: number): void => {
  socket.write(`*2\r\n${bulk('127.0.0.1')}${bulk(String(port))}`);
};

function watch(provider: ReturnType<typeof redisSentinel>, refresh$ = new Subject<string>()) {
  const sets: (readonly Endpoint[])[] = [];
  const errors: Error[] = [];
  const sub = provider.watch({ scheduler: asyncScheduler, refresh$, report: (e) => errors.push(e) }).subscribe((s) => sets.push(s));
  return { sets, errors, refresh$, stop: () => sub.unsubscribe() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('redisSentinel against faulty sentinels', () => {
  it('a refused SUBSCRIBE is reported once and not retried before the next poll (no connection storm)', async () => {
    const fake = await fakeSentinel((c, socket, port) => {
      const name = c[0]!.toUpperCase();
      if (name === 'SENTINEL') masterHere(socket, port);
      else if (name === 'ROLE') socket.write(`*3\r\n${bulk('master')}:0\r\n*0\r\n`);
      else if (name === 'SUBSCRIBE') socket.write('-NOPERM this user has no permissions to access one of the channels\r\n');
    });
    const w = watch(redisSentinel({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster', pollIntervalMs: 5000 }));
    try {
      await sleep(1000);
      expect(w.sets).toHaveLength(1);
      expect(fake.counts.SUBSCRIBE).toBe(1);
      expect(fake.connections).toBeLessThanOrEqual(4);
      expect(w.errors).toHaveLength(1);
      expect(w.errors[0]).toBeInstanceOf(DiscoveryError);
      expect(w.errors[0]!.message).toContain('refused SUBSCRIBE +switch-master');
    } finally {
      w.stop();
    }
  });

  it('a burst of hints while the named master is still a replica waits for roleRetryMs between rounds', async () => {
    const fake = await fakeSentinel((c, socket, port) => {
      const name = c[0]!.toUpperCase();
      if (name === 'SENTINEL') masterHere(socket, port);
      else if (name === 'ROLE') socket.write(`*5\r\n${bulk('slave')}${bulk('127.0.0.1')}:1\r\n${bulk('connected')}:0\r\n`);
      else if (name === 'SUBSCRIBE') socket.write(`*3\r\n${bulk('subscribe')}${bulk('+switch-master')}:1\r\n`);
    });
    const w = watch(redisSentinel({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster', roleRetryMs: 250, pollIntervalMs: 5000 }));
    const hints = setInterval(() => w.refresh$.next('READONLY'), 2);
    try {
      await sleep(1000);
      // Unthrottled, this was ~190 rounds a second; with roleRetryMs 250 and the growing
      // failure delay, at most one round per 250 ms.
      expect(fake.counts.ROLE ?? 0).toBeGreaterThanOrEqual(2);
      expect(fake.counts.ROLE ?? 0).toBeLessThanOrEqual(5);
      expect(w.errors.length).toBe(fake.counts.ROLE);
      expect(w.errors.every((e) => e.message.includes('is not a master yet'))).toBe(true);
      expect(w.sets).toEqual([]);
    } finally {
      clearInterval(hints);
      w.stop();
    }
  });

  it('+switch-master starts a round at once, even while failed rounds have grown the backoff', async () => {
    let promoted = false;
    let subscriber: Socket | undefined;
    const fake = await fakeSentinel((c, socket, port) => {
      const name = c[0]!.toUpperCase();
      if (name === 'SENTINEL') masterHere(socket, port);
      else if (name === 'ROLE' && promoted) socket.write(`*3\r\n${bulk('master')}:0\r\n*0\r\n`);
      else if (name === 'ROLE') socket.write(`*5\r\n${bulk('slave')}${bulk('127.0.0.1')}:1\r\n${bulk('connected')}:0\r\n`);
      else if (name === 'SUBSCRIBE') {
        subscriber = socket;
        socket.write(`*3\r\n${bulk('subscribe')}${bulk('+switch-master')}:1\r\n`);
      }
    });
    const w = watch(redisSentinel({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster', roleRetryMs: 50, pollIntervalMs: 60_000 }));
    try {
      // Rounds at about 0, 100, 300, 700, 1500 ms: the next one is not due before ~3.1 s.
      await sleep(1600);
      expect(fake.counts.ROLE).toBeLessThanOrEqual(6);
      expect(w.sets).toEqual([]);
      promoted = true;
      const switchedAt = Date.now();
      subscriber!.write(`*3\r\n${bulk('message')}${bulk('+switch-master')}${bulk(`mymaster 127.0.0.1 1 127.0.0.1 ${fake.port}`)}`);
      while (w.sets.length === 0 && Date.now() - switchedAt < 3000) await sleep(5);
      expect(w.sets).toHaveLength(1);
      expect(Date.now() - switchedAt).toBeLessThan(300);
    } finally {
      w.stop();
    }
  });

  it('stop() during a slow reply closes its socket at once', async () => {
    const fake = await fakeSentinel((c, socket, port) => {
      if (c[0]!.toUpperCase() === 'SENTINEL') setTimeout(() => !socket.destroyed && masterHere(socket, port), 400);
    });
    const w = watch(redisSentinel({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster', sentinelTimeoutMs: 2000 }));
    await sleep(100);
    expect(fake.counts.SENTINEL).toBe(1);
    expect(fake.closed).toBe(0);
    w.stop();
    await sleep(30);
    // The client's socket is gone (not left to its 2 s timeout or the 400 ms reply).
    expect(fake.closed).toBe(fake.connections);
    expect(w.errors).toEqual([]);
  });

  it('a malformed address is a failed round, not an endpoint', async () => {
    const fake = await fakeSentinel((c, socket) => {
      if (c[0]!.toUpperCase() === 'SENTINEL') socket.write(`*2\r\n${bulk('127.0.0.1')}${bulk('99999')}`);
    });
    const w = watch(redisSentinel({ sentinels: [{ host: '127.0.0.1', port: fake.port }], name: 'mymaster', pollIntervalMs: 1000 }));
    try {
      await sleep(300);
      expect(w.sets).toEqual([]);
      expect(w.errors[0]!.message).toContain('unexpected reply to get-master-addr-by-name');
    } finally {
      w.stop();
    }
  });
});
