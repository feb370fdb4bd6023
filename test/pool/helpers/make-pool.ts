import type { Balancer } from '../../../src/pool/balancer.js';
import type { ChooseEndpoint } from '../../../src/pool/connection-source.js';
import { createPoolCore, type PoolCore } from '../../../src/pool/pool-core.js';
import type { PoolLogger } from '../../../src/pool/pool-events.js';
import { FakeSource, type FakeConn, type FakeSourceOptions } from './fake-source.js';
import { VirtualClock } from './virtual-clock.js';

export const protocol = {
  name: 'fake',
  open: async () => ({}),
  probe: async () => {},
  reset: async () => {},
  close: async () => {},
};

/**
 * A protocol whose sessions may be shared by `dispatch`; `log` records enter/leave per
 * connection; sessions whose slot id is in `busy` refuse to start sharing (`canShare`).
 */
export function shareableProtocol(maxInFlight: number, log: string[] = [], busy?: Set<string>) {
  return {
    ...protocol,
    sharing: {
      maxInFlight,
      ...(busy === undefined ? {} : { canShare: (conn: FakeConn) => !busy.has(conn.slotId) }),
      enter: (conn: FakeConn) => {
        if (busy?.has(conn.slotId)) throw new Error(`enter on ${conn.slotId}, which refuses to share`);
        log.push(`enter ${conn.slotId}`);
      },
      leave: (conn: FakeConn) => void log.push(`leave ${conn.slotId}`),
    },
  };
}

export interface TestPool {
  pool: PoolCore<FakeConn>;
  source: FakeSource;
  clock: VirtualClock;
  warnings: string[];
}

export function makePool(
  options: Record<string, unknown> = {},
  sourceOptions: FakeSourceOptions = {},
  extra: { random?: () => number; chooseEndpoint?: ChooseEndpoint; balancer?: Balancer; startMs?: number } = {},
): TestPool {
  const { startMs, ...core } = extra;
  const clock = new VirtualClock(startMs);
  const source = new FakeSource(sourceOptions);
  const warnings: string[] = [];
  const logger: PoolLogger = { warn: (m) => warnings.push(m) };
  const pool = createPoolCore<FakeConn>({
    options: { endpoints: [{ host: '127.0.0.1', port: 7000 }], protocol, ...options },
    source: source.factory,
    scheduler: clock.scheduler,
    logger,
    ...core,
  });
  return { pool, source, clock, warnings };
}

/** Records how a promise settled, without an unhandled rejection. */
export function track<T>(p: Promise<T>): { settled: number; value?: T; error?: unknown } {
  const t: { settled: number; value?: T; error?: unknown } = { settled: 0 };
  p.then(
    (v) => {
      t.settled++;
      t.value = v;
    },
    (e: unknown) => {
      t.settled++;
      t.error = e;
    },
  );
  return t;
}

/** A promise the test settles by hand. */
export function gate<T = string>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
