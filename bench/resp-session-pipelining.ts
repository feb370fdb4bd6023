/**
 * One connection, many callers: GET (or SET) from C concurrent callers over a single
 * `resp()` session vs one ioredis connection (auto-pipelining off and on), against the same
 * real redis-server on loopback, in one run. It measures the transport's own pipelining
 * (the writer's batching and the reply FIFO), with no pool in front: the figure the
 * pool's shared dispatch can at best reach per connection.
 *
 * Each caller awaits its command and sends the next one, so C commands are in flight at
 * any moment. Also reported: socket write calls per command on the wirewarden side (1 /
 * batch size: lower is fewer syscalls).
 *
 * Run: `npx tsx bench/resp-session-pipelining.ts [--callers 100] [--seconds 3] [--runs 3] [--command GET|SET]`.
 */
import { parseArgs } from 'node:util';
import { asyncScheduler } from 'rxjs';
import { Redis } from 'ioredis';
import { resp, tcp, type RespSession } from '../src/index.js';
import { startRedis } from '../test/helpers/redis-server.js';

const { values } = parseArgs({
  options: {
    callers: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    command: { type: 'string', default: 'GET' },
  },
  strict: true,
});
const CALLERS = Number(values.callers);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const COMMAND = values.command.toUpperCase();
if (COMMAND !== 'GET' && COMMAND !== 'SET') throw new Error(`--command must be GET or SET, got ${values.command}`);
const ARGS = COMMAND === 'GET' ? ['GET', 'bench:k'] : ['SET', 'bench:k', 'v'];

/** Runs C callers for SECONDS; returns ops/s. */
async function drive(call: () => Promise<unknown>): Promise<number> {
  let ops = 0;
  const end = performance.now() + SECONDS * 1000;
  const caller = async (): Promise<void> => {
    while (performance.now() < end) {
      await call();
      ops++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CALLERS }, caller));
  return ops / ((performance.now() - started) / 1000);
}

const redis = await startRedis();
try {
  await redis.command(['SET', 'bench:k', 'v']);
  const rows: Record<string, number[]> = { 'resp() session': [], 'ioredis': [], 'ioredis autopipelining': [] };
  let writesPerCommand = 0;
  for (let run = 0; run < RUNS; run++) {
    // wirewarden: one session over a real socket; count the socket's write calls.
    const socket = await tcp().dial({ host: redis.host, port: redis.port }, { connectTimeoutMs: 2000 });
    let writes = 0;
    const origWrite = socket._write.bind(socket);
    const origWritev = socket._writev?.bind(socket);
    socket._write = (c, e, cb) => (writes++, origWrite(c, e, cb));
    if (origWritev) socket._writev = (cs, cb) => (writes++, origWritev(cs, cb));
    const session: RespSession = await resp().open(socket, {
      signal: new AbortController().signal, endpoint: { host: redis.host, port: redis.port }, markAlive: () => {}, scheduler: asyncScheduler,
    });
    writes = 0;
    let commands = 0;
    rows['resp() session']!.push(await drive(() => (commands++, session.command(ARGS))));
    writesPerCommand = writes / commands;
    await session.close();

    for (const auto of [false, true]) {
      const client = new Redis({ host: redis.host, port: redis.port, enableAutoPipelining: auto, lazyConnect: true });
      await client.connect();
      const fn = COMMAND === 'GET' ? () => client.get('bench:k') : () => client.set('bench:k', 'v');
      rows[auto ? 'ioredis autopipelining' : 'ioredis']!.push(await drive(fn));
      client.disconnect();
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = med(rows['ioredis autopipelining']!);
  console.log(`${COMMAND}, ${CALLERS} concurrent callers, one connection, ${SECONDS} s × ${RUNS} runs (median ops/s)`);
  for (const [name, xs] of Object.entries(rows)) {
    console.log(`${name.padEnd(24)} ${Math.round(med(xs)).toString().padStart(8)} ops/s  ${(med(xs) / base).toFixed(2)}× ioredis autopipelining   runs: ${xs.map((x) => Math.round(x)).join(', ')}`);
  }
  console.log(`resp() socket writes per command (last run): ${writesPerCommand.toFixed(3)}`);
} finally {
  await redis.stop();
}
