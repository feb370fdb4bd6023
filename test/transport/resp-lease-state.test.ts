/**
 * The lease-scoped state of a RESP session, tracked from the commands sent: MULTI, WATCH,
 * another database, a user RESET; what clears each, and what must not (inside MULTI).
 * Through the session as well: only commands actually written count, probes never do.
 */
import { describe, expect, it } from 'vitest';
import type { RespArg } from '../../src/transport/resp-encoder.js';
import { RespLeaseState } from '../../src/transport/resp-lease-state.js';
import { rejection } from './helpers.js';
import { open } from './resp-helpers/scripted-session.js';

/** Sends `commands` in order; returns `dirty` after each. */
function run(commands: RespArg[][], configuredDb = 0): boolean[] {
  const state = new RespLeaseState(configuredDb);
  return commands.map((c) => {
    state.sent(c);
    return state.dirty;
  });
}

describe('resp lease state', () => {
  it.each<[string, RespArg[][], boolean[]]>([
    ['MULTI … EXEC', [['MULTI'], ['INCR', 'n'], ['EXEC']], [true, true, false]],
    ['MULTI … DISCARD', [['multi'], ['DISCARD']], [true, false]],
    ['a failed MULTI still counts (nested MULTI)', [['MULTI'], ['MULTI'], ['EXEC']], [true, true, false]],
    ['WATCH … UNWATCH', [['WATCH', 'k'], ['UNWATCH']], [true, false]],
    ['EXEC ends a WATCH with its MULTI', [['WATCH', 'k'], ['MULTI'], ['EXEC']], [true, true, false]],
    ['DISCARD ends a WATCH with its MULTI', [['WATCH', 'k'], ['MULTI'], ['DISCARD']], [true, true, false]],
    ['EXEC without MULTI leaves a WATCH', [['WATCH', 'k'], ['EXEC']], [true, true]],
    ['UNWATCH inside MULTI is only queued', [['WATCH', 'k'], ['MULTI'], ['UNWATCH']], [true, true, true]],
    ['SELECT another db, then back', [['SELECT', '3'], ['SELECT', 0]], [true, false]],
    ['SELECT the configured db inside MULTI clears nothing', [['SELECT', '3'], ['MULTI'], ['SELECT', '0'], ['DISCARD']], [true, true, true, true]],
    ['SELECT another db inside MULTI counts (EXEC may run it)', [['MULTI'], ['SELECT', '4'], ['EXEC']], [true, true, true]],
    ['an unreadable SELECT counts as another db', [['SELECT', 'x']], [true]],
    ['RESET through command() undoes the handshake', [['RESET'], ['PING']], [true, true]],
    ['HELLO through command() changes the protocol under the session', [['HELLO', 2]], [true]],
    ['AUTH as another user', [['AUTH', 'other', 'pw']], [true]],
    ['CLIENT SETNAME / TRACKING / REPLY are per-connection state', [['CLIENT', 'SETNAME', 'x']], [true]],
    ['client tracking on, lower case', [['client', 'tracking', 'on']], [true]],
    ['read-only CLIENT subcommands change nothing', [['CLIENT', 'ID'], ['CLIENT', 'INFO'], ['CLIENT', 'LIST'], ['CLIENT', 'GETNAME']], [false, false, false, false]],
    ['Buffer command names count too', [[Buffer.from('watch'), 'k'], [Buffer.from('UNWATCH')]], [true, false]],
    ['ordinary commands change nothing', [['GET', 'k'], ['SET', 'k', 'v'], ['INCR', 'n'], ['EXPIRE', 'k', 1], ['LPUSH', 'q', 'x']], [false, false, false, false, false]],
    ['names that only share a length change nothing', [['EXEX'], ['MULTY'], ['SELECTS'], ['DISCARDS']], [false, false, false, false]],
  ])('%s', (_, commands, dirty) => {
    expect(run(commands)).toEqual(dirty);
  });

  it('measures "another db" against the configured one', () => {
    expect(run([['SELECT', '2'], ['SELECT', '0'], ['SELECT', 2]], 2)).toEqual([false, true, false]);
  });

  it('clear() (after reset) makes it clean whatever happened', () => {
    const state = new RespLeaseState(0);
    for (const c of [['MULTI'], ['WATCH', 'k'], ['SELECT', '9'], ['RESET']]) state.sent(c);
    state.clear();
    expect(state.dirty).toBe(false);
  });
});

describe('resp lease state through the session', () => {
  it('counts commands written, not refused ones, and never the probe', async () => {
    const { session, protocol } = await open();
    await rejection(session.command(['MULTI', { bad: 1 } as never]));
    expect(session.needsReset).toBe(false);
    void protocol.probe(session, new AbortController().signal);
    void session.command(['MULTI']);
    expect(session.needsReset).toBe(true);
    expect(protocol.needsReset!(session)).toBe(true);
  });
});
