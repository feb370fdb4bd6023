import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { WireChannel } from '../../src/transport/wire-channel.js';
import { MessageType as T, parseWireMessage, type WireMessage } from '../../src/transport/wire-messages.js';
import { turn, waitFor } from './helpers.js';

/** A stream that holds every write until `release()`, so `write()` reports backpressure. */
function heldStream() {
  const held: Array<{ chunk: Buffer; cb: () => void }> = [];
  const stream = new Duplex({
    highWaterMark: 1,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      held.push({ chunk, cb });
    },
  });
  const out: Buffer[] = [];
  return {
    stream,
    out,
    release() {
      for (const h of held.splice(0)) {
        out.push(h.chunk);
        h.cb();
      }
    },
  };
}

describe('WireChannel', () => {
  it('a refused send (queue full) leaves the record stream decodable for the peer', async () => {
    const s = heldStream();
    const channel = new WireChannel(s.stream, { maxFrameBytes: 1 << 20, maxQueuedBytes: 64, onMessage: () => {}, onClose: () => {} });
    const sent: WireMessage[] = [];
    const drain = async (): Promise<void> => {
      for (let k = 0; k < 5; k++) {
        s.release();
        await turn();
      }
    };
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      // Every message introduces a new record shape. A refused one is retried after the
      // peer read: without the encoder reset, the retry would reference a shape whose
      // definition the peer never received.
      const msg: WireMessage = { type: T.MSG, payload: { [`field${i}`]: i, common: 'x' } };
      try {
        channel.send(msg);
      } catch (err) {
        expect(hasCode(err, 'WW_WRITE_QUEUE_FULL')).toBe(true);
        refused++;
        await drain();
        channel.send(msg);
      }
      sent.push(msg);
    }
    await drain();
    expect(refused).toBeGreaterThan(0);
    const rx = new MsgpackCodec();
    const got: WireMessage[] = [];
    const d = new FrameDecoder((f) => got.push(parseWireMessage(rx.decode(f))));
    for (const c of s.out) d.push(c);
    expect(got).toEqual(sent);
    channel.destroy();
  });

  it('reports close exactly once, with the error, and detaches from the stream', async () => {
    const s = heldStream();
    const closes: Array<Error | undefined> = [];
    const channel = new WireChannel(s.stream, { maxFrameBytes: 16, maxQueuedBytes: 64, onMessage: () => {}, onClose: (e) => closes.push(e) });
    s.stream.push(Buffer.from([0, 0, 1, 0])); // 256 > 16
    await waitFor(() => closes.length === 1, 'close');
    expect(hasCode(closes[0], 'WW_FRAME_TOO_LARGE')).toBe(true);
    channel.destroy(new Error('again'));
    await turn(2);
    expect(closes).toHaveLength(1);
    expect(s.stream.listenerCount('data')).toBe(0);
    expect(s.stream.listenerCount('close')).toBe(0);
    expect(channel.writable).toBe(false);
  });

  it('a throwing message handler destroys the stream instead of escaping the data listener', async () => {
    const s = heldStream();
    const closes: Array<Error | undefined> = [];
    new WireChannel(s.stream, {
      maxFrameBytes: 1024,
      maxQueuedBytes: 64,
      onMessage: () => {
        throw new TypeError('handler bug');
      },
      onClose: (e) => closes.push(e),
    });
    const tx = new MsgpackCodec();
    const payload = tx.encode([T.PING, 1]);
    const frame = Buffer.alloc(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    s.stream.push(frame);
    await waitFor(() => closes.length === 1, 'close');
    expect(closes[0]).toBeInstanceOf(TypeError);
  });
});
