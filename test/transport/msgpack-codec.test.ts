import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { MessageType, parseWireMessage, toWire, type WireMessage } from '../../src/transport/wire-messages.js';

// msgpackr renames a `__proto__` key (prototype-pollution guard), so such keys cannot round-trip.
const jsonish = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.stringify(v))
  .filter((text) => !text.includes('"__proto__"'))
  .map((text) => JSON.parse(text) as unknown);

describe('MsgpackCodec (records, sequential, one per connection and direction)', () => {
  it('round-trips a stream of arbitrary values, reusing record shapes across frames', () => {
    fc.assert(
      fc.property(fc.array(jsonish, { maxLength: 30 }), (values) => {
        const tx = new MsgpackCodec();
        const rx = new MsgpackCodec();
        for (const v of values) expect(rx.decode(tx.encode(v))).toEqual(v);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes a repeated shape once: later frames are smaller', () => {
    const tx = new MsgpackCodec();
    const first = tx.encode({ user: 'a', age: 1, email: 'x' }).length;
    const second = tx.encode({ user: 'b', age: 2, email: 'y' }).length;
    expect(second).toBeLessThan(first);
  });

  it('encodeFramed writes the same bytes as encode behind 4 bytes of header room, and never reuses a returned buffer', () => {
    const a = new MsgpackCodec();
    const b = new MsgpackCodec();
    const peer = new MsgpackCodec();
    const frames: Buffer[] = [];
    const copies: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const value = [4, i, { op: 'get', key: `user:${i}`, pad: 'x'.repeat(i % 50) }];
      const framed = a.encodeFramed(value);
      expect(framed.subarray(4)).toEqual(b.encode(value));
      frames.push(framed);
      copies.push(Buffer.from(framed));
    }
    // Buffers handed out earlier are untouched by later encodes (the writer may still hold them).
    expect(frames).toEqual(copies);
    expect(frames.map((f) => peer.decode(f.subarray(4)))).toEqual(copies.map((_, i) => [4, i, { op: 'get', key: `user:${i}`, pad: 'x'.repeat(i % 50) }]));
  });

  it('stays decodable when encoded frames are dropped, provided resetEncoder() follows each drop', () => {
    const shape = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer(), { minKeys: 1 });
    fc.assert(
      fc.property(fc.array(fc.tuple(shape, fc.boolean()), { minLength: 1, maxLength: 30 }), (plan) => {
        const tx = new MsgpackCodec();
        const rx = new MsgpackCodec();
        for (const [value, dropped] of plan) {
          const frame = tx.encode(value);
          if (dropped) tx.resetEncoder();
          else expect(rx.decode(frame)).toEqual(value);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('without the reset, a dropped frame would break the stream (why the reset exists)', () => {
    const tx = new MsgpackCodec();
    const rx = new MsgpackCodec();
    rx.decode(tx.encode({ a: 1 }));
    tx.encode({ zz: 1, yy: 2 });
    expect(() => rx.decode(tx.encode({ zz: 3, yy: 4 }))).toThrow();
  });

  it('(the alternative) plain useRecords frames decode on their own, even after drops', () => {
    const tx = new Packr({ useRecords: true });
    const rx = new Unpackr({ useRecords: true });
    tx.pack({ zz: 1, yy: 2 }); // never arrives
    expect(rx.unpack(tx.pack({ zz: 3, yy: 4 }))).toEqual({ zz: 3, yy: 4 });
  });

  it('keeps working after a value fails to encode half-way', () => {
    const tx = new MsgpackCodec();
    const rx = new MsgpackCodec();
    expect(() => tx.encode({ q: 1n << 80n })).toThrow();
    tx.resetEncoder();
    expect(rx.decode(tx.encode({ q: 1 }))).toEqual({ q: 1 });
  });

  it('turns garbage into ProtocolError, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const rx = new MsgpackCodec();
        try {
          rx.decode(Buffer.from(bytes));
        } catch (err) {
          expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
    expect(() => new MsgpackCodec().decode(Buffer.from([0x92, 0x01]))).toThrowError(/undecodable msgpack frame of 2 bytes/);
  });

  it('does not quote decoded data in errors (a token could be in it)', () => {
    const tx = new MsgpackCodec();
    const frame = Buffer.concat([tx.encode({ token: 'sekret-value' }), Buffer.from([0x01])]);
    let caught: unknown;
    try {
      new MsgpackCodec().decode(frame);
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'WW_PROTOCOL_ERROR')).toBe(true);
    const cause = (caught as Error).cause as Error;
    expect(`${(caught as Error).message} ${cause.message}`).not.toContain('sekret');
  });
});

describe('wire messages', () => {
  const samples: WireMessage[] = [
    { type: MessageType.HELLO, version: 1, token: 't' },
    { type: MessageType.HELLO, version: 1, token: undefined },
    { type: MessageType.HELLO_OK, version: 1, clientId: 3 },
    { type: MessageType.HELLO_ERR, error: { code: 'WW_HANDSHAKE_FAILED', message: 'bad token' } },
    { type: MessageType.REQ, id: 1, payload: { a: [1, 2] } },
    { type: MessageType.RES, id: 1, payload: 'ok' },
    { type: MessageType.ERR, id: 2, error: { message: 'nope' } },
    { type: MessageType.MSG, payload: 1 },
    { type: MessageType.PUSH, payload: null },
    { type: MessageType.PING, id: 9 },
    { type: MessageType.PONG, id: 9 },
    { type: MessageType.GOAWAY, reason: 'bye' },
    { type: MessageType.GOAWAY, reason: undefined },
  ];

  it('round-trips every message type through the codec', () => {
    const tx = new MsgpackCodec();
    const rx = new MsgpackCodec();
    for (const m of samples) expect(parseWireMessage(rx.decode(tx.encode(toWire(m))))).toEqual(m);
  });

  it('accepts plain msgpack maps from other encoders', () => {
    expect(parseWireMessage([MessageType.HELLO, new Map<string, unknown>([['version', 1], ['token', 'x']])])).toEqual({
      type: MessageType.HELLO, version: 1, token: 'x',
    });
  });

  it.each([
    [42, /non-empty array/],
    [[], /non-empty array/],
    [[99], /unknown message type 99/],
    [['REQ', 1, 2], /unknown message type string/],
    [[MessageType.REQ, -1, 'x'], /id must be a non-negative integer/],
    [[MessageType.REQ, 1], /takes 2 fields, got 1/],
    [[MessageType.HELLO, { version: '1' }], /hello.version must be a number/],
    [[MessageType.HELLO, { version: 1, token: 5 }], /hello.token must be a string/],
    [[MessageType.ERR, 1, { code: 1, message: 'x' }], /error.code must be a string/],
    [[MessageType.GOAWAY, 'x'], /goaway must be a map/],
  ])('rejects %j as a ProtocolError', (value, pattern) => {
    let caught: unknown;
    try {
      parseWireMessage(value);
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect((caught as Error).message).toMatch(pattern);
  });
});
