/**
 * Protocol-aware toxics on real wire frames (built with the transport's own codec and
 * frame encoder), on a virtual clock.
 */
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { FrameCursor, FrameSplitter } from '../../src/chaos/frame-splitter.js';
import { CHAOS_ERROR_CODE, classifyWireFrame, wireErrorReply, wireFrames } from '../../src/chaos/wire-frames.js';
import { encodeFrame, MessageType, MsgpackCodec, type WireMessage } from '../../src/transport/index.js';
import { parseWireMessage, toWire } from '../../src/transport/wire-messages.js';
import { bench } from './virtual-pipeline.js';

/** A sender's view: frames encoded in order by one codec, as a wire connection does. */
function sender() {
  const codec = new MsgpackCodec();
  return (msg: WireMessage) => encodeFrame(codec.encode(toWire(msg)));
}

/** A receiver's view: splits a byte stream and decodes every frame with one decoder. */
function decodeAll(stream: Buffer, sequential = false): WireMessage[] {
  const codec = new MsgpackCodec();
  const unpackr = new Unpackr({ useRecords: true, sequential: true });
  const decode = (payload: Buffer) => (sequential ? unpackr.unpack(payload) : codec.decode(payload));
  const out: WireMessage[] = [];
  let offset = 0;
  while (offset < stream.length) {
    const length = stream.readUInt32BE(offset);
    out.push(parseWireMessage(decode(stream.subarray(offset + 4, offset + 4 + length))));
    offset += 4 + length;
  }
  expect(offset).toBe(stream.length);
  return out;
}

function chunked(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

const ping = (id: number): WireMessage => ({ type: MessageType.PING, id });
const pong = (id: number): WireMessage => ({ type: MessageType.PONG, id });
const req = (id: number, payload: unknown): WireMessage => ({ type: MessageType.REQ, id, payload });
const res = (id: number, payload: unknown): WireMessage => ({ type: MessageType.RES, id, payload });

describe('frame splitting', () => {
  it('hands out whole frames from partial and coalesced chunks', () => {
    const send = sender();
    const frames = [send(req(1, { a: 1 })), send(pong(2)), send(res(1, 'x'.repeat(300)))];
    const seen: Buffer[] = [];
    const splitter = new FrameSplitter({ onFrame: (f) => seen.push(f), onRaw: () => expect.fail('no raw') }, 1 << 20);
    for (const c of chunked(Buffer.concat(frames), 3)) splitter.write(c);
    expect(seen).toEqual(frames);
    expect(splitter.bufferedBytes).toBe(0);
  });

  it('streams an oversized frame through raw, unbuffered, and resumes at the next boundary', () => {
    const big = encodeFrame(Buffer.alloc(1000, 7));
    const small = sender()(pong(9));
    const frames: Buffer[] = [];
    const raw: Buffer[] = [];
    const splitter = new FrameSplitter({ onFrame: (f) => frames.push(f), onRaw: (b) => raw.push(b) }, 100);
    for (const c of chunked(Buffer.concat([big, small]), 64)) {
      splitter.write(c);
      expect(splitter.bufferedBytes).toBeLessThanOrEqual(small.length);
    }
    expect(Buffer.concat(raw)).toEqual(big);
    expect(frames).toEqual([small]);
  });

  it('starting mid-frame, lets the rest of that frame pass raw, as a cursor describes it', () => {
    const stream = Buffer.concat([encodeFrame(Buffer.alloc(50, 1)), encodeFrame(Buffer.alloc(5, 2))]);
    for (const cut of [2, 4, 30]) {
      const cursor = new FrameCursor();
      cursor.feed(stream.subarray(0, cut));
      expect(cursor.atBoundary).toBe(false);
      const frames: Buffer[] = [];
      const raw: Buffer[] = [];
      const splitter = new FrameSplitter({ onFrame: (f) => frames.push(f), onRaw: (b) => raw.push(b) }, 1 << 20, cursor.position());
      splitter.write(stream.subarray(cut));
      expect(Buffer.concat(raw)).toEqual(stream.subarray(cut, 54));
      expect(frames).toEqual([stream.subarray(54)]);
    }
  });
});

describe('wire frame classification', () => {
  it('reads the message type of real frames, records and all', () => {
    const send = sender();
    const payload = (f: Buffer) => f.subarray(4);
    expect(classifyWireFrame(payload(send({ type: MessageType.HELLO, version: 1, token: undefined })))).toBe('other');
    expect(classifyWireFrame(payload(send(ping(1))))).toBe('ping');
    expect(classifyWireFrame(payload(send(pong(70_000))))).toBe('pong');
    expect(classifyWireFrame(payload(send(req(3, { op: 'get', key: 'k' }))))).toBe('request');
    expect(classifyWireFrame(payload(send(req(4, { op: 'get', key: 'j' }))))).toBe('request');
    expect(classifyWireFrame(payload(send(res(3, [1, 2]))))).toBe('response');
    expect(classifyWireFrame(payload(send({ type: MessageType.ERR, id: 3, error: { message: 'no' } })))).toBe('response');
    expect(classifyWireFrame(payload(send({ type: MessageType.PUSH, payload: 1 })))).toBe('other');
    const kinds: Record<number, string> = { [MessageType.PING]: 'ping', [MessageType.PONG]: 'pong', [MessageType.REQ]: 'request', [MessageType.RES]: 'response', [MessageType.ERR]: 'response' };
    const decoder = new MsgpackCodec();
    for (const msg of [ping(200), pong(1 << 20), req(2 ** 40, null), res(0, [{ deep: { x: 1 } }]), { type: MessageType.GOAWAY, reason: 'bye' } as WireMessage]) {
      const frame = send(msg);
      const decoded = parseWireMessage(decoder.decode(frame.subarray(4)));
      expect(classifyWireFrame(frame.subarray(4))).toBe(kinds[decoded.type] ?? 'other');
    }
    for (const garbage of [Buffer.alloc(0), Buffer.from([0xc0]), Buffer.from([0x90]), Buffer.from([0x91, 0xff]), Buffer.from('hello')]) {
      expect(classifyWireFrame(garbage)).toBe('other');
    }
  });

  it('answers a request with an ERR frame the real decoder accepts', () => {
    const frame = sender()(req(123_456, { op: 'x' }));
    const reply = wireErrorReply(frame.subarray(4), 'boom')!;
    expect(decodeAll(reply)).toEqual([{ type: MessageType.ERR, id: 123_456, error: { code: CHAOS_ERROR_CODE, message: 'boom' } }]);
    expect(wireErrorReply(sender()(pong(1)).subarray(4), 'boom')).toBeUndefined();
  });
});

describe('wire_drop_pongs', () => {
  it('drops PONG frames only, however the stream is chunked', () => {
    const send = sender();
    const stream = Buffer.concat([send(ping(1)), send(pong(1)), send(res(7, { ok: true })), send(pong(2)), send(req(8, 'q'))]);
    const b = bench([{ type: 'wire_drop_pongs' }]);
    for (const c of chunked(stream, 3)) b.pipe.write(c);
    expect(decodeAll(b.received())).toEqual([ping(1), res(7, { ok: true }), req(8, 'q')]);
  });

  it('attached mid-frame, keeps the stream intact and starts at the next frame', () => {
    const send = sender();
    const first = send(res(1, 'y'.repeat(100)));
    const stream = Buffer.concat([first, send(pong(5)), send(res(2, 'z'))]);
    const b = bench();
    b.pipe.write(stream.subarray(0, 40));
    b.attach({ type: 'wire_drop_pongs' });
    for (const c of chunked(stream.subarray(40), 7)) b.pipe.write(c);
    expect(decodeAll(b.received())).toEqual([res(1, 'y'.repeat(100)), res(2, 'z')]);
  });
});

describe('wire_fail_requests', () => {
  it('error mode: the first N requests never go upstream; the client gets ERR replies', () => {
    const send = sender();
    const stream = Buffer.concat([send(req(1, [1])), send(ping(1)), send(req(2, 'two')), send(req(3, { a: 3 }))]);
    const b = bench([{ type: 'wire_fail_requests', stream: 'upstream', attributes: { count: 2, message: 'injected' } }], {
      stream: 'upstream',
    });
    for (const c of chunked(stream, 5)) b.pipe.write(c);
    expect(decodeAll(b.received())).toEqual([ping(1), req(3, { a: 3 })]);
    const errors = b.replies.flatMap((f) => decodeAll(f));
    expect(errors).toEqual([
      { type: MessageType.ERR, id: 1, error: { code: CHAOS_ERROR_CODE, message: 'injected' } },
      { type: MessageType.ERR, id: 2, error: { code: CHAOS_ERROR_CODE, message: 'injected' } },
    ]);
  });

  it('never drops a frame that defines a msgpack record: later frames of the stream need it', () => {
    // An explicitly sequential encoder: the first {a} frame defines the record, the others refer to it.
    const packr = new Packr({ useRecords: true, sequential: true });
    const send = (msg: WireMessage) => encodeFrame(packr.pack(toWire(msg)));
    const stream = Buffer.concat([send(req(1, { a: 1 })), send(req(2, { a: 2 })), send(req(3, { a: 3 })), send(req(4, { a: 4 }))]);
    const b = bench([{ type: 'wire_fail_requests', attributes: { count: 2 } }]);
    b.pipe.write(stream);
    expect(decodeAll(b.received(), true)).toEqual([req(1, { a: 1 }), req(4, { a: 4 })]);
    expect(b.replies.flatMap((f) => decodeAll(f)).map((m) => (m as { id: number }).id)).toEqual([2, 3]);
  });

  it('never drops a frame that carries decoding state, and does not count it', () => {
    const send = sender();
    const stream = Buffer.concat([send(req(1, 'state')), send(req(2, 'b')), send(req(3, 'c')), send(req(4, 'd'))]);
    const stateful = { ...wireFrames, carriesState: (p: Buffer) => p.includes('state') };
    const b = bench([{ type: 'wire_fail_requests', attributes: { count: 2 } }], { frames: stateful });
    b.pipe.write(stream);
    expect(decodeAll(b.received())).toEqual([req(1, 'state'), req(4, 'd')]);
    expect(b.replies.flatMap((f) => decodeAll(f)).map((m) => (m as { id: number }).id)).toEqual([2, 3]);
  });

  it('drop mode swallows them silently', () => {
    const send = sender();
    const b = bench([{ type: 'wire_fail_requests', attributes: { count: 1, mode: 'drop' } }]);
    b.pipe.write(Buffer.concat([send(req(1, 'a')), send(req(2, 'b'))]));
    expect(decodeAll(b.received())).toEqual([req(2, 'b')]);
    expect(b.replies).toEqual([]);
  });

  it('an injected reply waits for a frame boundary of the other direction', () => {
    const frame = sender()(res(9, 'w'.repeat(50)));
    const b = bench();
    b.pipe.write(frame.subarray(0, 20));
    const reply = wireErrorReply(sender()(req(4, 'r')).subarray(4), 'late')!;
    b.pipe.inject(reply);
    expect(b.received()).toEqual(frame.subarray(0, 20));
    b.pipe.write(frame.subarray(20));
    expect(b.received()).toEqual(Buffer.concat([frame, reply]));
  });
});

describe('wire_delay_responses', () => {
  it('delays responses only; PONGs overtake them', () => {
    const send = sender();
    const b = bench([{ type: 'wire_delay_responses', attributes: { latency: 100 } }]);
    b.pipe.write(Buffer.concat([send(res(1, 'r')), send(pong(1))]));
    expect(b.out.map((c) => c.at)).toEqual([0]);
    b.advanceTo(100);
    expect(decodeAll(b.received())).toEqual([pong(1), res(1, 'r')]);
    expect(b.out.map((c) => c.at)).toEqual([0, 100]);
  });

  it('keeps raw bytes (an oversized frame) behind held responses, never inside them', () => {
    const send = sender();
    const big = encodeFrame(Buffer.alloc(500, 3));
    const b = bench([{ type: 'wire_delay_responses', attributes: { latency: 50, max_frame_bytes: 100 } }]);
    const delayed = send(res(1, 'late'));
    b.pipe.write(delayed);
    b.advanceTo(10);
    b.pipe.write(big.subarray(0, 200));
    expect(b.out).toEqual([]);
    b.advanceTo(55);
    expect(b.received()).toEqual(Buffer.concat([delayed, big.subarray(0, 200)]));
    b.pipe.write(big.subarray(200));
    expect(b.received()).toEqual(Buffer.concat([delayed, big]));
  });

  it('lets nothing but pings and pongs pass a frame that carries decoding state', () => {
    const send = sender();
    const push = (payload: unknown): WireMessage => ({ type: MessageType.PUSH, payload });
    const stateful = { ...wireFrames, carriesState: (p: Buffer) => p.includes('state') };
    const b = bench([{ type: 'wire_delay_responses', attributes: { latency: 100 } }], { frames: stateful });
    b.pipe.write(Buffer.concat([send(res(1, 'state')), send(pong(4)), send(push('p1')), send(res(2, 'r2'))]));
    expect(decodeAll(b.received())).toEqual([pong(4)]);
    b.advanceTo(100);
    expect(decodeAll(b.received())).toEqual([pong(4), res(1, 'state'), push('p1'), res(2, 'r2')]);
    // Without state, the push overtakes the held responses.
    const free = bench([{ type: 'wire_delay_responses', attributes: { latency: 100 } }]);
    free.pipe.write(Buffer.concat([send(res(3, ['no', 'records'])), send(push([2]))]));
    expect(decodeAll(free.received())).toEqual([push([2])]);
  });

  it('on removal lets held responses out at once', () => {
    const send = sender();
    const b = bench([{ type: 'wire_delay_responses', attributes: { latency: 10_000 } }]);
    b.pipe.write(send(res(1, 'a')));
    b.pipe.detach('wire_delay_responses_downstream');
    expect(decodeAll(b.received())).toEqual([res(1, 'a')]);
    expect(b.vts.actions).toHaveLength(0);
  });
});
