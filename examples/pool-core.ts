/**
 * The pool core on the real clock, driven by a small in-memory ConnectionSource (phase 2
 * puts the supervisor and the connection actor behind the same interface). Shows
 * queued acquires served in order, a connection dying mid-lease and being replaced,
 * an acquire timing out with the pool's state in its message, stats(), and a close
 * that leaves nothing behind.
 *
 *   npx tsx examples/pool-core.ts
 */
import { hasCode } from '../src/errors.js';
import { createPoolCore, type ConnectionSource, type PoolSink, type Slot } from '../src/pool/index.js';

/** A pretend session: answers requests after a few milliseconds. */
interface Session {
  readonly id: string;
  request(op: string): Promise<string>;
}

/** Simulates a socket error on a leased connection (phase 2: the actor reaches `dead`). */
let crash: (slotId: string) => void = () => {};

/**
 * Dials take 20 ms; a killed or dead connection is replaced after 50 ms (phase 2: the
 * supervisor's backoff). Uses real timers for brevity; library code would take them
 * from the scheduler.
 */
function memorySource(sink: PoolSink<Session>): ConnectionSource<Session> {
  const slots = new Map<string, Slot<Session>>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  let serial = 0;
  const dial = (slot: Slot<Session>, delayMs: number) =>
    later(delayMs, () => {
      if (slot.state !== 'pending') return;
      const id = `${slot.id}#${++serial}`;
      sink.onReady(slot, { id, request: (op) => new Promise((r) => setTimeout(() => r(`${op} via ${id}`), 5)) });
    });
  crash = (slotId) => {
    const slot = slots.get(slotId)!;
    sink.onDead(slot, 'socket-error', new Error('read ECONNRESET'));
    dial(slot, 50);
  };
  return {
    open: (slot) => {
      slots.set(slot.id, slot);
      dial(slot, 20);
    },
    kill: (slot) => dial(slot, 50),
    close: (slot) => later(1, () => sink.onClosed(slot)),
    probe: async () => {},
    reset: async () => {},
    inspect: (slot) => ({ state: slot.state === 'pending' ? 'dialing' : 'ready' }),
  };
}

const pool = createPoolCore<Session>({
  options: {
    endpoints: [{ host: '127.0.0.1', port: 7000 }],
    protocol: { name: 'memory' },
    min: 1,
    max: 3,
    acquireTimeoutMs: 200,
  },
  source: memorySource,
});
pool.events$.subscribe((e) => {
  if (e.type === 'connection-ready' || e.type === 'connection-closed' || e.type === 'lease-lost') {
    console.log(`  event ${e.type} ${e.id}${'reason' in e ? ` (${e.reason})` : ''}`);
  }
});

// Five users, three connections: two of them queue and are served in arrival order.
console.log('five users on max 3:');
const results = await Promise.all(
  ['a', 'b', 'c', 'd', 'e'].map((user) => pool.use((conn) => conn.request(`GET ${user}`))),
);
for (const r of results) console.log(`  ${r}`);

// A connection that dies while leased: the holder's lease is lost, the pool replaces it.
console.log('a connection dies mid-lease:');
const lease = await pool.acquire();
crash(lease.connectionId);
try {
  void lease.conn;
} catch (err) {
  console.log(`  ${(err as Error).message}`);
}
lease.release(); // acknowledges the loss; does not throw
console.log(`  ${lease.connectionId} is ${pool.connections().find((c) => c.id === lease.connectionId)?.state}`);

// Hold every connection and watch an acquire time out with the pool's state.
console.log('an acquire that cannot be served:');
const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
try {
  await pool.acquire({ timeoutMs: 100 });
} catch (err) {
  if (hasCode(err, 'WW_POOL_TIMEOUT')) console.log(`  ${err.message}`);
}
for (const l of held) l.release();

const { open, idle, leased, waitCount, timeouts, closed } = pool.stats();
console.log('stats:', { open, idle, leased, waitCount, timeouts, closed });
await pool.close();
console.log(`closed; active resources left: ${process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length} timers`);
