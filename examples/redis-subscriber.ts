/**
 * A Redis subscription that survives restarts: `rt.createSubscriber` subscribes two
 * channels and a pattern, a pool publishes to them, the redis-server is killed and
 * started again on the same port, and the subscriber reports the `gap` and subscribes
 * the whole set again by itself. Needs `redis-server` on the PATH (it starts its own on a
 * free loopback port, without persistence); without it, it says so and exits 0.
 *
 *   npx tsx examples/redis-subscriber.ts
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, filter } from 'rxjs';
import { createRuntime, exponentialBackoff, resp, type Subscriber, type SubscriberEvent } from 'wirewarden';

if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.log('redis-server is not installed: nothing to run (apt-get install redis-server, or brew install redis).');
  process.exit(0);
}

const password = 'example-Pa55word';
const dir = mkdtempSync(join(tmpdir(), 'ww-example-redis-'));
const port = await new Promise<number>((resolve, reject) => {
  const probe = createServer().once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address() as { port: number };
    probe.close(() => resolve(free));
  });
});

function startRedis(): ChildProcess {
  return spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--requirepass', password, '--loglevel', 'warning',
  ], { stdio: 'ignore' });
}

function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGKILL');
  return gone;
}

const next = <T extends SubscriberEvent['type']>(sub: Subscriber, type: T): Promise<SubscriberEvent> =>
  firstValueFrom(sub.status$.pipe(filter((e) => e.type === type)));

let redis = startRedis();
const rt = createRuntime();
const backoff = exponentialBackoff({ initialMs: 50, maxMs: 500 });
const endpoint = { host: '127.0.0.1', port };
const protocol = resp({ password, protocolVersion: 3 });
try {
  const sub = rt.createSubscriber({ endpoint, protocol, backoff, heartbeat: { intervalMs: 1000 } });
  sub.messages$.subscribe(({ channel, message, pattern }) =>
    console.log(`  message on ${String(channel)}${pattern === undefined ? '' : ` (pattern ${String(pattern)})`}: ${String(message)}`));
  sub.status$.subscribe((e) => {
    if (e.type === 'subscribed') console.log(`  [status] subscribed: channels ${e.channels.join(', ') || 'none'}; patterns ${e.patterns.join(', ') || 'none'}`);
    if (e.type === 'gap') console.log(`  [status] gap (${e.reason}): messages published until the next "subscribed" may be lost`);
  });

  // `subscribe` waits for the server (dial failures are retried with backoff while it starts).
  await sub.subscribe('news', 'alerts');
  await sub.psubscribe('user:*');
  console.log(`subscriber ${sub.path} is ${sub.state}`);

  // Another connection publishes: a pool over the same protocol.
  const pool = rt.createPool({ endpoints: [endpoint], protocol, backoff, acquireTimeoutMs: 5000 });
  const publish = (channel: string, message: string): Promise<unknown> => pool.use((conn) => conn.command(['PUBLISH', channel, message]));
  await publish('news', 'hello');
  await publish('user:42', 'signed in');

  console.log('redis-server killed and started again on the same port …');
  const gap = next(sub, 'gap');
  await stopRedis(redis);
  await gap;
  const subscribed = next(sub, 'subscribed');
  redis = startRedis();
  await subscribed;
  await publish('alerts', 'back after the restart');
  await publish('user:7', 'signed in after the restart');
  await new Promise((r) => setTimeout(r, 100)); // let the last messages arrive
} finally {
  await rt.shutdown(); // closes the pool and the subscriber: no socket or timer left
  await stopRedis(redis);
  rmSync(dir, { recursive: true, force: true });
}
console.log('done');
