/**
 * What a failed handshake step becomes: refused (a retry cannot fix it) or failed, and the
 * RESP2 "no password is set" answer to AUTH that is a success with one warning. The real
 * server tests cover what Redis 7 sends; these cover the texts it cannot (older servers,
 * NOPROTO, LOADING).
 */
import { asyncScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { isAuthNotRequired, isPermanentRefusal } from '../../src/transport/resp-handshake-outcome.js';
import { respRemoteError } from '../../src/transport/resp-parser.js';
import { resp } from '../../src/transport/resp.js';
import { duplexPair, rejection } from './helpers.js';
import { captureWarnings } from './resp-helpers/leak-checks.js';
import { ScriptedPeer } from './resp-helpers/scripted-peer.js';
import { setup } from './resp-helpers/scripted-session.js';

describe('resp handshake errors: classification', () => {
  it.each([
    'WRONGPASS invalid username-password pair or user is disabled.',
    'NOAUTH Authentication required.',
    'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    'NOPROTO unsupported protocol version',
    "NOPERM this user has no permissions to run the 'select' command",
    'ERR invalid password',
    'ERR DB index is out of range',
    'ERR SELECT is not allowed in cluster mode',
    "ERR unknown command 'HELLO', with args beginning with: '3' ",
    'ERR unknown command `HELLO`, with args beginning with: `3`, ',
  ])('refused: %s', (text) => {
    expect(isPermanentRefusal(respRemoteError(text))).toBe(true);
  });

  it.each([
    'LOADING Redis is loading the dataset in memory',
    'BUSY Redis is busy running a script.',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
    'ERR max number of clients reached',
    "ERR unknown command 'CLIENT', with args beginning with: 'SETNAME' ",
  ])('failed (a retry may succeed): %s', (text) => {
    expect(isPermanentRefusal(respRemoteError(text))).toBe(false);
  });

  it('"no password is set" counts only as the answer to RESP2 AUTH', () => {
    const v7 = respRemoteError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    const v5 = respRemoteError('ERR Client sent AUTH, but no password is set');
    expect(isAuthNotRequired('AUTH', v7)).toBe(true);
    expect(isAuthNotRequired('AUTH', v5)).toBe(true);
    expect(isAuthNotRequired('SELECT 1', v7)).toBe(false);
    expect(isAuthNotRequired('AUTH', respRemoteError('WRONGPASS invalid username-password pair'))).toBe(false);
  });
});

describe('resp handshake errors: through open()', () => {
  it('RESP3 HELLO answered NOPROTO is HandshakeRefusedError with the RemoteError as cause', async () => {
    const s = setup({ protocolVersion: 3 });
    await s.peer.received(1);
    s.peer.send('-NOPROTO unsupported protocol version\r\n');
    const err = await rejection(s.opening);
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toBe('HELLO 3 failed on 127.0.0.1:6379: NOPROTO unsupported protocol version');
    expect(hasCode(err.cause, 'WW_REMOTE_ERROR')).toBe(true);
  });

  it('LOADING stays HandshakeFailedError', async () => {
    const s = setup({ password: 'pw-x' });
    await s.peer.received(1);
    s.peer.send('-LOADING Redis is loading the dataset in memory\r\n');
    expect(hasCode(await rejection(s.opening), 'WW_HANDSHAKE_FAILED')).toBe(true);
  });

  it('Redis < 6 "no password is set": the session opens, one warning per protocol object', async () => {
    const warned = captureWarnings();
    const protocol = resp({ password: 'not-needed-Pw', db: 1 });
    for (let i = 0; i < 2; i++) {
      const [client, server] = duplexPair();
      const peer = new ScriptedPeer(server);
      const ctx = { signal: new AbortController().signal, endpoint: { host: 'old', port: 6379 }, markAlive: () => {}, scheduler: asyncScheduler };
      const opening = protocol.open(client, ctx);
      expect(await peer.received(2)).toEqual([['AUTH', 'not-needed-Pw'], ['SELECT', '1']]);
      peer.send('-ERR Client sent AUTH, but no password is set\r\n+OK\r\n');
      const session = await opening;
      expect(session.state).toBe('open');
      session.destroy();
    }
    await warned.stop();
    const ours = warned.warnings.filter((w) => (w as { code?: string }).code === 'WW_AUTH_NOT_REQUIRED');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.name).toBe('WirewardenWarning');
    expect(ours[0]!.message).toContain('old:6379');
    expect(ours[0]!.message).not.toContain('not-needed-Pw');
  });

  it('a reset whose re-authentication is refused rejects HandshakeRefusedError and closes', async () => {
    const s = setup({ password: 'rotated-Pw' });
    await s.peer.received(1);
    s.peer.send('+OK\r\n');
    const session = await s.opening;
    const reset = s.protocol.reset!(session);
    await s.peer.received(3);
    s.peer.send('+RESET\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    const err = await rejection(reset);
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    await session.closed;
  });
});
