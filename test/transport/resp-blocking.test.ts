/**
 * Blocking commands: which ones block and for how long (units and argument positions),
 * and the deadline a session gives them, in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { blockTimeMs, NOT_BLOCKING } from '../../src/transport/resp-blocking.js';
import type { RespArg } from '../../src/transport/resp-encoder.js';
import { advance, rejection } from './helpers.js';
import { open } from './resp-helpers/scripted-session.js';

describe('resp blocking: classification', () => {
  it.each<[RespArg[], number]>([
    [['BLPOP', 'a', 'b', '30'], 30_000],
    [['brpop', 'a', 1.5], 1500],
    [['BRPOPLPUSH', 'src', 'dst', '2'], 2000],
    [['BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0.25'], 250],
    [['BZPOPMIN', 'z', '3'], 3000],
    [['BZPOPMAX', 'z1', 'z2', 4n], 4000],
    [['BLMPOP', '5', '2', 'a', 'b', 'LEFT', 'COUNT', '3'], 5000],
    [['BZMPOP', '0.5', '1', 'z', 'MIN'], 500],
    [['XREAD', 'COUNT', '10', 'BLOCK', '2500', 'STREAMS', 's', '$'], 2500],
    [['XREAD', 'STREAMS', 'BLOCK', '$'], NOT_BLOCKING], // a key named BLOCK
    [['XREAD', 'COUNT', 'BLOCK', 'STREAMS', 's', '0'], NOT_BLOCKING], // COUNT's value, not an option
    [['XREAD', 'STREAMS', 's', '0'], NOT_BLOCKING],
    [['XREADGROUP', 'GROUP', 'BLOCK', 'c', 'BLOCK', 100, 'NOACK', 'STREAMS', 's', '>'], 100],
    [['XREADGROUP', 'GROUP', 'g', 'BLOCK', 'STREAMS', 's', '>'], NOT_BLOCKING], // consumer named BLOCK
    [['WAIT', '1', '700'], 700],
    [['WAITAOF', '1', '0', '900'], 900],
    [['BLPOP', 'q', '0'], 0],
    [['XREAD', 'BLOCK', 0, 'STREAMS', 's', '$'], 0],
    [[Buffer.from('blpop'), 'q', Buffer.from('1')], 1000],
    [['BLPOP', 'q', '-1'], NOT_BLOCKING], // Redis refuses a negative timeout at once
    // XREADGROUP's options come in any order: BLOCK before GROUP blocks as well.
    [['XREADGROUP', 'BLOCK', '300', 'GROUP', 'g', 'c', 'STREAMS', 's', '>'], 300],
    [['XREADGROUP', 'COUNT', '5', 'BLOCK', 0, 'GROUP', 'g', 'c', 'STREAMS', 's', '>'], 0],
    // Block times we cannot read (Redis's strtold reads hex, and any length of digits)
    // get no default deadline, as 0 does: a 10 s default would kill a legitimate wait.
    [['BLPOP', 'q', '0x0'], 0],
    [['BLPOP', 'q', '0x1p3'], 0],
    [['BLPOP', 'q', Buffer.from('0'.repeat(39) + '1')], 0],
    [['XREADGROUP', 'BLOCK', 'x', 'GROUP', 'g', 'c', 'STREAMS', 's', '>'], 0],
    [['BLPOP', 'q', 'soon'], 0], // Redis refuses it at once: no deadline needed
    [['BLPOP'], 0],
    [['GET', 'k'], NOT_BLOCKING],
    [['LPOP', 'q'], NOT_BLOCKING],
    [['BLPOPX', 'q', '1'], NOT_BLOCKING],
    [['WAITS', '1', '1'], NOT_BLOCKING],
  ])('%s blocks for %i ms', (args, ms) => {
    expect(blockTimeMs(args)).toBe(ms);
  });

});

describe('resp blocking: session deadlines (virtual time)', () => {
  it('BLPOP 30 with requestTimeoutMs 1000 lives until 31 s, then closes the connection', async () => {
    const { session, vts, client } = await open({ requestTimeoutMs: 1000 });
    const popped = session.command(['BLPOP', 'q', '30']);
    advance(vts, 30_999);
    expect(client.destroyed).toBe(false);
    advance(vts, 1);
    const err = await rejection(popped);
    expect(hasCode(err, 'WW_REQUEST_TIMEOUT')).toBe(true);
    expect(err.message).toContain('BLPOP to 127.0.0.1:6379 got no reply within 31000 ms');
    expect(client.destroyed).toBe(true);
  });

  it('BLPOP 0 holds no timer at all; its reply still comes in order', async () => {
    const { session, vts, peer } = await open({ requestTimeoutMs: 1000 });
    advance(vts, 1000); // the handshake's shared deadline timer lapses
    expect(vts.actions).toHaveLength(0);
    const popped = session.command(['BLPOP', 'q', 0]);
    expect(vts.actions).toHaveLength(0);
    advance(vts, 3_600_000);
    await peer.received(1);
    peer.send('*2\r\n$1\r\nq\r\n$1\r\nx\r\n');
    expect(await popped).toEqual(['q', 'x']);
  });

  it('a block time we cannot read (BLPOP q 0x1p3: 8 s to Redis) holds no timer: no default deadline kills it', async () => {
    const { session, vts, client, peer } = await open({ requestTimeoutMs: 1000 });
    advance(vts, 1000); // the handshake's shared deadline timer lapses
    const popped = session.command(['BLPOP', 'q', '0x1p3']);
    expect(vts.actions).toHaveLength(0);
    advance(vts, 60_000);
    expect(client.destroyed).toBe(false);
    await peer.received(1);
    peer.send('*2\r\n$1\r\nq\r\n$1\r\nx\r\n');
    expect(await popped).toEqual(['q', 'x']);
  });

  it('an explicit timeoutMs wins over the block time', async () => {
    const { session, vts, client } = await open({ requestTimeoutMs: 1000 });
    const popped = session.command(['BLPOP', 'q', '30'], { timeoutMs: 500 });
    advance(vts, 500);
    expect(hasCode(await rejection(popped), 'WW_REQUEST_TIMEOUT')).toBe(true);
    expect(client.destroyed).toBe(true);
  });

  it('a command behind a blocking one waits for that block first: BLPOP 30 then GET, both live past the GET\'s own default', async () => {
    const { session, vts, client, peer } = await open({ requestTimeoutMs: 1000 });
    const popped = session.command(['BLPOP', 'q', '30']);
    const get = session.command(['GET', 'k']);
    advance(vts, 30_999); // the BLPOP's block + 1000 ms; the GET's deadline is the same (registered at the same instant)
    expect(client.destroyed).toBe(false);
    await peer.received(2);
    peer.send('*-1\r\n$1\r\nv\r\n'); // BLPOP times out on the server (nil), then the GET
    expect(await popped).toBeNull();
    expect(await get).toBe('v');
    // The hold ends with the blocker: a later command is back on the plain default.
    const later = session.command(['GET', 'k']);
    advance(vts, 1000);
    expect(hasCode(await rejection(later), 'WW_REQUEST_TIMEOUT')).toBe(true);
  });

  it('behind BLPOP 0 a command has no default deadline either; an explicit timeoutMs still applies', async () => {
    const { session, vts, client } = await open({ requestTimeoutMs: 1000 });
    void session.command(['BLPOP', 'q', 0]).catch(() => {});
    void session.command(['GET', 'k']).catch(() => {});
    advance(vts, 3_600_000);
    expect(client.destroyed).toBe(false);
    const bounded = session.command(['GET', 'k'], { timeoutMs: 500 });
    advance(vts, 500);
    expect(hasCode(await rejection(bounded), 'WW_REQUEST_TIMEOUT')).toBe(true);
    expect(client.destroyed).toBe(true);
  });
});
