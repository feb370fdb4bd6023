/**
 * Framing offload: is it worth sending a PACKED inner to a worker thread?
 *
 *   npx tsx --expose-gc bench/framing.ts [--sizes 16384,262144,1048576,4194304]
 *                                        [--shapes objects,strings,binary] [--total-mib 24]
 *                                        [--threads N] [--rounds 3]
 *
 * For each payload shape and size, a stream of frames (about `--total-mib` of msgpack, at
 * least 6 frames) is decoded and, separately, encoded in two ways:
 *
 * - inline: `unpackInner` / `packPacked` on the main thread, one frame per macrotask (as
 *   frames arriving from a socket are);
 * - offload: `createFramingPool().decode` / `.encode`, with up to 2 × threads tasks in
 *   flight; the main thread still copies each inner and rebuilds each decoded value from
 *   the worker's msgpack slices (framing-slices.ts), or snapshots each value to encode
 *   (`v8.serialize`);
 * - decode via v8 (for reference, what Piscina's structured clone would cost): the main
 *   thread's share of handing a decoded value over as `v8.serialize` bytes, i.e. one
 *   `v8.deserialize` per frame, inline.
 *
 * Reported per run: throughput (MiB of msgpack per second), the main thread's event-loop
 * delay during the stream (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution: max and
 * p99), and its event-loop utilisation (the share of wall time the main thread was busy),
 * as the median of `--rounds` rounds after one warm-up round. Offload "wins" at a size
 * when its max event-loop delay is below inline's; the crossover is the smallest size
 * from which it wins for good. On a machine shared with other jobs, compare within a run.
 *
 * Shapes: `objects` are rows of small records (a typical large API reply), `strings`
 * ~1 KiB strings, `binary` one big Uint8Array.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { createFramingPool, type FramingPool } from '../src/transport/framing-pool.js';
import { packInner, packPacked, unpackInner } from '../src/transport/framing-packed.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '16384,262144,1048576,4194304' },
    shapes: { type: 'string', default: 'objects,strings,binary' },
    'total-mib': { type: 'string', default: '24' },
    threads: { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const shapes = values.shapes.split(',') as Shape[];
const totalBytes = Number(values['total-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
const gc = (globalThis as { gc?: () => void }).gc;

type Shape = 'objects' | 'strings' | 'binary';

function makeValue(shape: Shape, bytes: number): unknown {
  switch (shape) {
    case 'objects': {
      const rows = [];
      // ~45 bytes of msgpack per row with records.
      for (let i = 0; rows.length * 45 < bytes; i++) rows.push({ id: i, name: `user-${i}`, score: i * 1.5, active: i % 2 === 0, tags: ['a', 'b'] });
      return [5, 1, { rows }];
    }
    case 'strings': {
      const list = [];
      for (let i = 0; list.length * 1030 < bytes; i++) list.push(`${i}:${'lorem ipsum dolor sit amet '.repeat(38)}`);
      return [5, 1, { list }];
    }
    case 'binary':
      return [5, 1, { blob: Buffer.alloc(bytes, 7) }];
  }
}

interface Run {
  mibPerSec: number;
  maxDelayMs: number;
  p99DelayMs: number;
  elu: number;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function measure(frames: number, bytesPerFrame: number, body: () => Promise<void>): Promise<Run> {
  gc?.();
  await nextTurn();
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // The histogram misses a stall in its first interval: let it take a few samples first.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await body();
  h.disable();
  const seconds = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return {
    mibPerSec: (frames * bytesPerFrame) / (1024 * 1024) / seconds,
    maxDelayMs: h.max / 1e6,
    p99DelayMs: h.percentile(99) / 1e6,
    elu,
  };
}

/** Runs `task(i)` for i < n with at most `window` in flight, yielding between submissions. */
async function windowed(n: number, window: number, task: (i: number) => Promise<unknown>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const p: Promise<unknown> = task(i).then(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
    else await nextTurn();
  }
  await Promise.all(inFlight);
}

function median(runs: Run[]): Run {
  const pick = (f: (r: Run) => number): number => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  return { mibPerSec: pick((r) => r.mibPerSec), maxDelayMs: pick((r) => r.maxDelayMs), p99DelayMs: pick((r) => r.p99DelayMs), elu: pick((r) => r.elu) };
}

async function bench(pool: FramingPool, window: number, shape: Shape, size: number) {
  const value = makeValue(shape, size);
  const inner = packInner(value);
  const bytes = inner.length;
  const frames = Math.max(6, Math.round(totalBytes / bytes));
  const v8bytes = serialize(unpackInner(inner));
  const out: Record<string, Run[]> = { decInline: [], decOffload: [], decV8: [], encInline: [], encOffload: [] };
  for (let round = 0; round <= rounds; round++) {
    const results = {
      decInline: await measure(frames, bytes, async () => {
        for (let i = 0; i < frames; i++) {
          unpackInner(inner);
          await nextTurn();
        }
      }),
      decOffload: await measure(frames, bytes, () => windowed(frames, window, () => pool.decode(inner))),
      decV8: await measure(frames, bytes, async () => {
        for (let i = 0; i < frames; i++) {
          deserialize(v8bytes);
          await nextTurn();
        }
      }),
      encInline: await measure(frames, bytes, async () => {
        for (let i = 0; i < frames; i++) {
          packPacked(value);
          await nextTurn();
        }
      }),
      encOffload: await measure(frames, bytes, () => windowed(frames, window, () => pool.encode(value))),
    };
    if (round === 0) continue; // warm-up: JIT, worker start, msgpackr's buffers
    for (const [k, r] of Object.entries(results)) out[k]!.push(r);
  }
  return { bytes, frames, ...Object.fromEntries(Object.entries(out).map(([k, r]) => [k, median(r)])) } as {
    bytes: number; frames: number; decInline: Run; decOffload: Run; decV8: Run; encInline: Run; encOffload: Run;
  };
}

const fmt = (r: Run): string => `${r.mibPerSec.toFixed(0)} MiB/s, max ${r.maxDelayMs.toFixed(1)} ms, p99 ${r.p99DelayMs.toFixed(1)} ms, ELU ${(r.elu * 100).toFixed(0)} %`;
const kib = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MiB` : `${Math.round(n / 1024)} KiB`);

async function main(): Promise<void> {
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const pool = createFramingPool({ ...(threads === undefined ? {} : { maxThreads: threads }), offloadThresholdBytes: 0 });
  const window = 2 * pool.options.maxThreads;
  console.log(`# framing offload — Node ${process.version}, ${cpus()[0]?.model ?? '?'}, availableParallelism ${availableParallelism()}, ` +
    `pool maxThreads ${pool.options.maxThreads}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}${gc ? '' : ' (no --expose-gc)'}`);
  const wins: Record<string, { dec: boolean[]; enc: boolean[] }> = {};
  const decodeRows: string[] = [];
  const encodeRows: string[] = [];
  try {
    for (const shape of shapes) {
      wins[shape] = { dec: [], enc: [] };
      for (const size of sizes) {
        const r = await bench(pool, window, shape, size);
        wins[shape]!.dec.push(r.decOffload.maxDelayMs < r.decInline.maxDelayMs);
        wins[shape]!.enc.push(r.encOffload.maxDelayMs < r.encInline.maxDelayMs);
        decodeRows.push(`| ${shape} | ${kib(size)} | ${r.bytes} | ${r.frames} | ${fmt(r.decInline)} | ${fmt(r.decOffload)} | ${fmt(r.decV8)} |`);
        encodeRows.push(`| ${shape} | ${kib(size)} | ${r.bytes} | ${r.frames} | ${fmt(r.encInline)} | ${fmt(r.encOffload)} |`);
        process.stderr.write(`${shape} ${kib(size)} done\n`);
      }
    }
  } finally {
    await pool.close();
  }
  console.log('\nDecode (throughput in MiB of msgpack/s; event-loop delay max and p99; main-thread ELU):\n');
  console.log('| shape | size | inner bytes | frames | inline | offload (sliced rebuild) | v8.deserialize only (reference) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const row of decodeRows) console.log(row);
  console.log('\nEncode:\n');
  console.log('| shape | size | inner bytes | frames | inline | offload |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of encodeRows) console.log(row);
  const crossover = (w: boolean[]): string => {
    const from = w.findIndex((_, i) => w.slice(i).every(Boolean));
    return from < 0 ? `none up to ${kib(sizes.at(-1)!)}` : kib(sizes[from]!);
  };
  console.log('\ncrossover (smallest size from which offload has the lower max event-loop delay):');
  for (const [shape, w] of Object.entries(wins)) console.log(`- ${shape}: decode ${crossover(w.dec)}, encode ${crossover(w.enc)}`);
}

await main();
