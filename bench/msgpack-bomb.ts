/**
 * What a msgpack reference bomb costs the receiver (docs/wire-protocol.md, "Payloads").
 *
 *   npx tsx bench/msgpack-bomb.ts [--levels 23] [--leaf-bytes 0] [--pool]
 *
 * The bomb is a REQ `[4, 1, payload]` whose payload is a chain of `levels + 1` arrays, each
 * holding the next one twice, once inline and once through msgpackr's structured-clone
 * reference extension (0x69/0x70): 13 bytes per level, 2^(levels+1) leaves once walked.
 * A leaf is the integer 1, or a string of `--leaf-bytes`.
 *
 * - default: the connection codec decodes it on this thread; if that succeeds, the payload
 *   is re-encoded as an echoing handler would (a full walk of the graph).
 * - `--pool`: a framing pool (one thread, warmed up first) decodes it as a PACKED inner.
 *
 * Reported: frame size, outcome, wall time, and this process's RSS growth (the worker's
 * memory counts too). Run once per configuration: RSS never shrinks back within a run.
 */
import { parseArgs } from 'node:util';
import { Packr } from 'msgpackr';
import { createFramingPool } from '../src/transport/framing-pool.js';
import { packInner } from '../src/transport/framing-packed.js';
import { MsgpackCodec } from '../src/transport/msgpack-codec.js';

const { values } = parseArgs({
  options: {
    levels: { type: 'string', default: '23' },
    'leaf-bytes': { type: 'string', default: '0' },
    pool: { type: 'boolean', default: false },
  },
});
const levels = Number(values.levels);
const leafBytes = Number(values['leaf-bytes']);

function idExtension(type: number, id: number): number[] {
  return [0xd6, type, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff];
}

function bomb(): Buffer {
  const leaf = leafBytes === 0 ? [0x01] : [0xda, leafBytes >> 8, leafBytes & 0xff, ...Buffer.alloc(leafBytes, 0x61)];
  const bytes: number[] = [0x93, 0x04, 0x01];
  for (let k = levels; k >= 0; k--) bytes.push(...idExtension(0x69, k), 0x92);
  bytes.push(...leaf, ...leaf);
  for (let k = 0; k < levels; k++) bytes.push(...idExtension(0x70, k));
  return Buffer.from(bytes);
}

function describeError(err: unknown): string {
  const e = err as Error & { code?: string };
  return `refused: ${e.code ?? e.name}: ${e.message.slice(0, 160)}`;
}

const frame = bomb();
let outcome: string;
let rssBefore: number;
let started: number;
if (values.pool) {
  const pool = createFramingPool({ maxThreads: 1, offloadThresholdBytes: 0 });
  await pool.decode(packInner([4, 0, 'warm-up']));
  rssBefore = process.memoryUsage().rss;
  started = performance.now();
  try {
    await pool.decode(frame);
    outcome = 'decoded on the worker and rebuilt here';
  } catch (err) {
    outcome = describeError(err);
  }
  await pool.close();
} else {
  rssBefore = process.memoryUsage().rss;
  started = performance.now();
  try {
    const value = new MsgpackCodec().decode(frame) as unknown[];
    const decodedMs = performance.now() - started;
    let echo: string;
    try {
      echo = `${new Packr({ useRecords: true }).pack(value[2]).length} bytes`;
    } catch (err) {
      echo = describeError(err);
    }
    outcome = `decoded in ${decodedMs.toFixed(2)} ms; echo re-encode: ${echo}`;
  } catch (err) {
    outcome = describeError(err);
  }
}
const elapsedMs = performance.now() - started;
const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
console.log(`${values.pool ? 'pool' : 'inline'}: frame ${frame.length} bytes, 2^${levels + 1} leaves of ${leafBytes || 'an integer'}${leafBytes ? ' bytes' : ''}`);
console.log(`  ${outcome}`);
console.log(`  ${elapsedMs.toFixed(1)} ms, RSS +${rssGrowthMiB.toFixed(0)} MiB`);
