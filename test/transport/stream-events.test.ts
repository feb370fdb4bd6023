/**
 * The receive and listener plumbing both sessions share (stream-events.ts, listeners.ts):
 * nothing thrown on the data path escapes it, a thrown non-Error becomes a ProtocolError,
 * a late socket error after detach is swallowed, and a user listener that throws anything
 * (a self-throwing Proxy included) is a named warning on `resp()` as on `wire()`.
 */
import { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { attachStreamEvents, detachStreamEvents, type StreamEventSink } from '../../src/transport/stream-events.js';
import { turn } from './helpers.js';
import { open } from './resp-helpers/scripted-session.js';

function recordingSink(receive: (chunk: Buffer) => void = () => {}) {
  const seen: string[] = [];
  const destroyed: Error[] = [];
  const sink: StreamEventSink = {
    receive: (chunk) => {
      seen.push(`data:${Buffer.isBuffer(chunk) ? 'buffer' : typeof chunk}`);
      receive(chunk);
    },
    recordError: (err) => void seen.push(`error:${err.message}`),
    peerEnded: () => void seen.push('end'),
    finish: () => void seen.push('close'),
    destroy: (err) => void destroyed.push(err),
  };
  return { sink, seen, destroyed };
}

const idle = (): Duplex => new Duplex({ read() {}, write: (_c, _e, cb) => cb() });

describe('stream events', () => {
  it('routes data (strings as Buffers), error, end and close; a throw in receive destroys instead of escaping', async () => {
    const stream = idle();
    const { sink, seen, destroyed } = recordingSink((chunk) => {
      if (String(chunk) === 'bad') throw 'not an error';
    });
    attachStreamEvents(stream, sink);
    stream.emit('data', 'text');
    stream.emit('data', 'bad');
    expect(destroyed).toHaveLength(1);
    expect(hasCode(destroyed[0], 'WW_PROTOCOL_ERROR')).toBe(true);
    expect((destroyed[0] as Error).message).toBe('inbound handler failed');
    stream.emit('error', new Error('reset'));
    stream.emit('end');
    stream.emit('close');
    expect(seen).toEqual(['data:buffer', 'data:buffer', 'error:reset', 'end', 'close']);
    detachStreamEvents(stream);
    expect(() => stream.emit('error', new Error('late'))).not.toThrow();
    stream.emit('data', 'after');
    expect(seen).toHaveLength(5);
  });

  it('an Error thrown in receive is the destroy reason itself; a destroyed stream finishes in a microtask', async () => {
    const failure = new RangeError('bad length');
    const live = recordingSink(() => {
      throw failure;
    });
    const stream = idle();
    attachStreamEvents(stream, live.sink);
    stream.emit('data', Buffer.from('x'));
    expect(live.destroyed).toEqual([failure]);

    const dead = idle();
    dead.destroy();
    const late = recordingSink();
    attachStreamEvents(dead, late.sink);
    expect(late.seen).toEqual([]);
    await Promise.resolve();
    expect(late.seen[0]).toBe('close');
    detachStreamEvents(dead);
    detachStreamEvents(stream);
  });
});

describe('session listeners (one plumbing for wire() and resp())', () => {
  let warnings: Error[];
  const onWarning = (w: Error): void => void warnings.push(w);
  beforeEach(() => {
    warnings = [];
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('resp(): a push listener throwing a self-throwing Proxy is a named warning; the connection lives on', async () => {
    const P: object = new Proxy({}, { getPrototypeOf() { throw P; }, get() { throw P; } });
    const { session, peer } = await open({ protocolVersion: 3 });
    session.onPush(() => {
      throw P;
    });
    const get = session.command(['GET', 'k']);
    await peer.received(1);
    peer.send('>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\nv\r\n');
    expect(await get).toBe('v');
    await turn(3);
    expect(warnings.map((w) => w.name)).toEqual(['WirewardenPushListenerWarning']);
    expect(session.state).toBe('open');
    session.destroy();
  });
});
