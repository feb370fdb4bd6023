/**
 * What the plain-data gate (src/transport/msgpack-plain.ts) costs, and what hostile frames
 * that pass msgpack's own rules cost the receiver with it.
 *
 *   node --expose-gc --import tsx bench/msgpack-decoded-cost.ts
 *
 * - gate: CPU time of `assertPlainMsgpack` per payload (a 40-byte request, 10k rows of
 *   records, integers 64–127, another encoder's plain maps), against msgpackr's decode of
 *   the same bytes.
 * - frames: CPU time and heap kept (after GC) to decode, or refuse, 4 MB of one kind of
 *   cheap-to-send container (empty maps, empty arrays, empty binaries, nils), a 1 MB record
 *   bomb (a new record read four times per 18 bytes: msgpackr compiles each), and a
 *   HELLO-sized one decoded as a handshake.
 */
import { Packr, Unpackr } from 'msgpackr';
import { MsgpackCodec } from '../src/transport/msgpack-codec.js';
import { assertPlainMsgpack, RecordLedger } from '../src/transport/msgpack-plain.js';

function cpuNs(run: () => void, times: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < times; i++) run();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / times;
}

const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i, name: `user${i}`, score: i * 1.5, active: i % 2 === 0, tags: ['a', 'b'], age: 20 + (i % 80) }));
const payloads: Array<[string, Buffer, number]> = [
  ['40-byte request', new Packr({ useRecords: true, sequential: true }).pack([4, 1, { op: 'get', key: 'user:42', opts: { ttl: 100 } }]), 200_000],
  ['10k rows (records)', new Packr({ useRecords: true, sequential: true }).pack([5, 1, rows]), 40],
  ['100k integers 64-127', new Packr({ useRecords: false }).pack(Array.from({ length: 100_000 }, (_, i) => 64 + (i % 64))), 200],
  ['20k plain maps', new Packr({ useRecords: false }).pack(Array.from({ length: 20_000 }, (_, i) => ({ id: i, n: `x${i}` }))), 100],
];
console.log('gate                      bytes     gate ns   msgpackr decode ns   gate/decode');
for (const [name, bytes, times] of payloads) {
  const ledger = new RecordLedger();
  cpuNs(() => assertPlainMsgpack(bytes, 'frame', ledger), Math.ceil(times / 4));
  const gate = cpuNs(() => assertPlainMsgpack(bytes, 'frame', ledger), times);
  const unpackr = new Unpackr({ useRecords: true });
  const decode = cpuNs(() => unpackr.unpack(bytes), Math.max(1, Math.ceil(times / 10)));
  console.log(`${name.padEnd(24)} ${String(bytes.length).padStart(7)} ${gate.toFixed(0).padStart(11)} ${decode.toFixed(0).padStart(20)} ${(gate / decode).toFixed(3).padStart(13)}`);
}

function arrayOf(unit: number[], bytes: number): Buffer {
  const count = Math.floor(bytes / unit.length);
  const frame = Buffer.alloc(5 + count * unit.length);
  frame[0] = 0xdd;
  frame.writeUInt32BE(count, 1);
  for (let i = 0, p = 5; i < count; i++, p += unit.length) frame.set(unit, p);
  return frame;
}

function recordBomb(bytes: number): Buffer {
  const parts: number[] = [];
  let n = 0;
  while (parts.length < bytes) {
    const key = (n++).toString(36);
    parts.push(0xd4, 0x72, 0x40, 0x91, 0xa0 + key.length, ...Buffer.from(key), 0xc0, 0x40, 0xc0, 0x40, 0xc0, 0x40, 0xc0);
  }
  const head = Buffer.alloc(5);
  head[0] = 0xdd;
  head.writeUInt32BE(4 * n, 1);
  return Buffer.concat([head, Buffer.from(parts)]);
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const frames: Array<[string, Buffer, (codec: MsgpackCodec, frame: Buffer) => unknown]> = [
  ['4 MB of empty maps', arrayOf([0x80], 4_000_000), (c, f) => c.decode(f)],
  ['4 MB of empty arrays', arrayOf([0x90], 4_000_000), (c, f) => c.decode(f)],
  ['4 MB of empty binaries', arrayOf([0xc4, 0x00], 4_000_000), (c, f) => c.decode(f)],
  ['4 MB of nils', arrayOf([0xc0], 4_000_000), (c, f) => c.decode(f)],
  ['1 MB record bomb', recordBomb(1_000_000), (c, f) => c.decode(f)],
  ['8 KiB record bomb as HELLO', recordBomb(8 * 1024 - 40), (c, f) => c.decodeOneOff(f)],
];
console.log('\nframe                          cpu ms   heap MiB   outcome');
for (const [name, frame, decode] of frames) {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = process.cpuUsage();
  let kept: unknown;
  let outcome = 'decoded';
  const codec = new MsgpackCodec();
  try {
    kept = decode(codec, frame);
    if (!codec.compilesRecords) outcome += ' (then without the record compiler)';
  } catch (err) {
    outcome = `refused: ${(err as Error).message.slice(0, 70)}…`;
  }
  const used = process.cpuUsage(start);
  gc();
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  console.log(`${name.padEnd(28)} ${((used.user + used.system) / 1000).toFixed(1).padStart(8)} ${heapMiB.toFixed(0).padStart(10)}   ${outcome}`);
  kept = undefined;
}
