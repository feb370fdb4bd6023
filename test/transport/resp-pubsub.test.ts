/**
 * Session pub/sub against a scripted peer: the reply matching stays right when
 * confirmations, messages, probe PINGs and ordinary replies interleave (RESP2 arrays,
 * RESP3 pushes), and every way it could go wrong is a typed error, not a desync.
 */
import { describe, expect, it } from 'vitest';
import { hasCode, RemoteError } from '../../src/errors.js';
import type { RespMessage } from '../../src/transport/resp-session.js';
import { rejection, turn } from './helpers.js';
import { captureWarnings } from './resp-helpers/leak-checks.js';
import { open } from './resp-helpers/scripted-session.js';

/** A RESP2 array (`*`) or RESP3 push (`>`) of bulk strings and integers. */
function frame(type: '*' | '>', ...items: (string | number)[]): string {
  const body = items.map((i) => (typeof i === 'number' ? `:${i}\r\n` : `$${Buffer.byteLength(i)}\r\n${i}\r\n`)).join('');
  return `${type}${items.length}\r\n${body}`;
}

function messagesOf(session: { onMessage(l: (m: RespMessage) => void): () => void }): RespMessage[] {
  const seen: RespMessage[] = [];
  session.onMessage((m) => seen.push(m));
  return seen;
}

describe('resp pub/sub, RESP2', () => {
  it('confirmations, a message and the probe\'s pong interleave without shifting any reply', async () => {
    const { session, peer, protocol } = await open();
    const seen = messagesOf(session);
    const subscribed = session.subscribe(['a', 'b']);
    const probe = protocol.probe(session, new AbortController().signal);
    expect(await peer.received(2)).toEqual([['SUBSCRIBE', 'a', 'b'], ['PING']]);
    expect(session.inFlight).toBe(1);
    peer.send(frame('*', 'subscribe', 'a', 1) + frame('*', 'message', 'a', 'early') + frame('*', 'subscribe', 'b', 2));
    await subscribed;
    expect(session.subscriptionCount).toBe(2);
    peer.send(frame('*', 'pmessage', 'x*', 'xy', 'p') + frame('*', 'pong', ''));
    await probe;
    expect(seen).toEqual([{ channel: 'a', message: 'early' }, { pattern: 'x*', channel: 'xy', message: 'p' }]);
    expect(session.inFlight).toBe(0);
  });

  it('an ordinary reply that looks like a message, sent before the subscribe, stays a reply', async () => {
    const { session, peer } = await open();
    const seen = messagesOf(session);
    const list = session.command(['LRANGE', 'l', '0', '-1']);
    const subscribed = session.subscribe(['c']);
    await peer.received(2);
    peer.send(frame('*', 'message', 'x', 'y') + frame('*', 'subscribe', 'c', 1));
    expect(await list).toEqual(['message', 'x', 'y']);
    await subscribed;
    expect(seen).toEqual([]);
  });

  it('refuses ordinary commands from the subscribe until the last unsubscribe, writing nothing', async () => {
    const { session, peer } = await open();
    const subscribed = session.subscribe(['c']);
    expect(session.needsReset).toBe(true);
    const early = await rejection(session.command(['GET', 'k']));
    expect(hasCode(early, 'WW_INVALID_OPTION')).toBe(true);
    expect(early.message).toBe(
      'GET refused: the session with 127.0.0.1:6379 is in RESP2 subscriber mode (0 subscriptions), where Redis accepts only ' +
        'subscribe, unsubscribe and PING; unsubscribe from everything first, or use protocolVersion 3',
    );
    await peer.received(1);
    peer.send(frame('*', 'subscribe', 'c', 1));
    await subscribed;
    const unsubscribed = session.unsubscribe(['c']);
    await peer.received(2);
    peer.send(frame('*', 'unsubscribe', 'c', 0));
    await unsubscribed;
    expect(session.needsReset).toBe(false);
    const get = session.command(['GET', 'k']);
    expect(await peer.received(3)).toEqual([['SUBSCRIBE', 'c'], ['UNSUBSCRIBE', 'c'], ['GET', 'k']]);
    peer.send('$1\r\nv\r\n');
    expect(await get).toBe('v');
  });

  it('an error reply rejects the call with RemoteError and leaves nothing subscribed', async () => {
    const { session, peer } = await open();
    const refused = session.subscribe(['secret', 'other']);
    await peer.received(1);
    peer.send("-NOPERM this user has no permissions to access one of the channels used as arguments\r\n");
    const err = await rejection(refused);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err.cause as { code: string }).code).toBe('NOPERM');
    expect(session.subscriptionCount).toBe(0);
    expect(session.needsReset).toBe(false);
    expect(session.inFlight).toBe(0);
  });

  it('delivers Buffers under returnBuffers', async () => {
    const { session, peer } = await open({ returnBuffers: true });
    const seen = messagesOf(session);
    const subscribed = session.psubscribe([Buffer.from('b*')]);
    await peer.received(1);
    peer.send(frame('*', 'psubscribe', 'b*', 1) + frame('*', 'pmessage', 'b*', 'bin', 'data'));
    await subscribed;
    await turn();
    expect(seen).toEqual([{ pattern: Buffer.from('b*'), channel: Buffer.from('bin'), message: Buffer.from('data') }]);
  });
});

describe('resp pub/sub, RESP3', () => {
  it('ordinary commands interleave with push confirmations and messages; other pushes still reach onPush', async () => {
    const { session, peer } = await open({ protocolVersion: 3 });
    const seen = messagesOf(session);
    const pushes: unknown[] = [];
    session.onPush((p) => pushes.push(p));
    const before = session.command(['GET', 'k']);
    const subscribed = session.subscribe(['feed']);
    const after = session.command(['GET', 'k']);
    expect(session.inFlight).toBe(3);
    await peer.received(3);
    peer.send('$1\r\n1\r\n' + frame('>', 'subscribe', 'feed', 1) + frame('>', 'message', 'feed', 'm') + '$1\r\n2\r\n');
    expect(await before).toBe('1');
    await subscribed;
    expect(await after).toBe('2');
    peer.send(frame('>', 'invalidate', 'k'));
    const ping = session.command(['PING']);
    await peer.received(4);
    peer.send('+PONG\r\n');
    expect(await ping).toBe('PONG');
    expect(seen).toEqual([{ channel: 'feed', message: 'm' }]);
    expect(pushes).toEqual([['invalidate', 'k']]);
  });

  it('a plain reply where a confirmation is due is a ProtocolError, not a desync', async () => {
    const { session, peer } = await open({ protocolVersion: 3 });
    const subscribed = session.subscribe(['feed']);
    await peer.received(1);
    peer.send('+OK\r\n');
    const err = await rejection(subscribed);
    expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(hasCode(err.cause, 'WW_PROTOCOL_ERROR')).toBe(true);
  });
});

describe('resp pub/sub: misuse and failures', () => {
  it('a confirmation nobody waits for, or of the wrong kind, kills the connection with ProtocolError', async () => {
    const a = await open({ protocolVersion: 3 });
    let closedWith: Error | undefined;
    a.session.onClose((e) => (closedWith = e));
    a.session.onMessage(() => {});
    a.peer.send(frame('>', 'subscribe', 'ghost', 1));
    await a.session.closed;
    expect(hasCode(closedWith, 'WW_PROTOCOL_ERROR')).toBe(true);

    const b = await open();
    const subscribing = b.session.subscribe(['c']);
    await b.peer.received(1);
    b.peer.send(frame('*', 'unsubscribe', 'c', 0));
    expect(hasCode((await rejection(subscribing)).cause, 'WW_PROTOCOL_ERROR')).toBe(true);
  });

  it('validates names before writing anything; SUBSCRIBE through command() points to subscribe()', async () => {
    const { session, peer } = await open();
    const cases: [Promise<void>, string][] = [
      [session.subscribe([]), 'subscribe.channels must be a non-empty array of strings or Buffers, got an empty array'],
      [session.unsubscribe([]), 'unsubscribe.channels must be a non-empty array of strings or Buffers, got an empty array'],
      [session.psubscribe([1 as never]), 'psubscribe.patterns[0] must be a string or a Buffer, got number'],
      [session.punsubscribe('p*' as never), 'punsubscribe.patterns must be a non-empty array of strings or Buffers, got string'],
    ];
    for (const [call, message] of cases) {
      const err = await rejection(call);
      expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
      expect(err.message).toBe(message);
    }
    const viaCommand = await rejection(session.command(['subscribe', 'x']));
    expect(viaCommand.message).toMatch(/^command\[0\] must not be SUBSCRIBE: .*; use session\.subscribe\(\)$/);
    await turn(2);
    expect(peer.commands).toEqual([]);
    expect(session.needsReset).toBe(false);
  });

  it('a connection lost with a subscribe waiting rejects it; a closed session refuses new ones', async () => {
    const { session, peer } = await open();
    const subscribing = session.subscribe(['c']);
    await peer.received(1);
    peer.stream.destroy();
    const err = await rejection(subscribing);
    expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(err.message).toContain('closed with 1 command in flight (SUBSCRIBE unanswered)');
    await session.closed;
    expect(hasCode(await rejection(session.subscribe(['c'])), 'WW_CONNECTION_CLOSED')).toBe(true);
  });

  it('a throwing message listener becomes a warning; the other listeners and the data path go on', async () => {
    const { session, peer } = await open({ protocolVersion: 3 });
    const warned = captureWarnings();
    session.onMessage(() => {
      throw new Error('listener bug');
    });
    const seen = messagesOf(session);
    const stop = session.onMessage(() => {
      throw new Error('never called');
    });
    stop();
    const subscribed = session.subscribe(['c']);
    await peer.received(1);
    peer.send(frame('>', 'subscribe', 'c', 1) + frame('>', 'message', 'c', 'x'));
    await subscribed;
    await warned.stop();
    expect(seen).toHaveLength(1);
    expect(warned.warnings.map((w) => [w.name, w.message])).toEqual([['WirewardenMessageListenerWarning', 'listener bug']]);
    expect(session.state).toBe('open');
  });
});
