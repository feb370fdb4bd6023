/**
 * Handshakes against real redis-servers: a password sent (RESP2) to a server that has none
 * continues with one warning per protocol object; a handshake refused for a reason a retry
 * cannot fix (wrong password, db out of range, NOAUTH, NOPERM) is `HandshakeRefusedError`,
 * anything else stays `HandshakeFailedError`; no password in any message, cause, JSON or
 * inspect output.
 */
import { describe, expect, it } from 'vitest';
import { hasCode, RemoteError } from '../../src/errors.js';
import { resp } from '../../src/transport/resp.js';
import { startRedis } from '../helpers/redis-server.js';
import { captureWarnings, errorSurfaces } from '../transport/resp-helpers/leak-checks.js';
import { openSession, useRealRedis } from '../transport/resp-helpers/real-session.js';

const SERVER_PASSWORD = 'server-Pa55-real';
const WRONG = 'wrong-Pa55-9xq';
const open = useRealRedis();
const locked = useRealRedis({ password: SERVER_PASSWORD });

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e as Error);
  if (err === undefined) throw new Error('expected the handshake to be refused');
  return err;
}

function expectNoSecret(err: Error, secret: string): void {
  for (const text of errorSurfaces(err)) expect(text).not.toContain(secret);
}

describe('resp on a real redis-server: a password the server does not need', () => {
  it('RESP2: AUTH answered "no password configured" continues, with one warning per protocol object', async () => {
    const warned = captureWarnings();
    const protocol = resp({ password: WRONG });
    const a = await openSession(open.server, protocol);
    const b = await openSession(open.server, protocol);
    expect(await a.command(['SET', 'k', 'v'])).toBe('OK');
    expect(await b.command(['GET', 'k'])).toBe('v');
    await protocol.reset!(a); // the handshake again: still no second warning
    await warned.stop();
    const ours = warned.warnings.filter((w) => (w as { code?: string }).code === 'WW_AUTH_NOT_REQUIRED');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toMatch(/has no password configured .* resp\.password is set/);
    expect(ours[0]!.message).toContain(`127.0.0.1:${open.server.port}`);
    for (const w of warned.warnings) expect(`${w.message} ${w.stack ?? ''}`).not.toContain(WRONG);

    const again = captureWarnings();
    await openSession(open.server, resp({ password: WRONG }));
    await again.stop();
    expect(again.warnings.filter((w) => (w as { code?: string }).code === 'WW_AUTH_NOT_REQUIRED')).toHaveLength(1);
  });

  it('RESP3: HELLO 3 AUTH default <pw> succeeds silently', async () => {
    const warned = captureWarnings();
    const session = await openSession(open.server, resp({ password: WRONG, protocolVersion: 3 }));
    expect(session.server.protocolVersion).toBe(3);
    await warned.stop();
    expect(warned.warnings.filter((w) => (w as { code?: string }).code === 'WW_AUTH_NOT_REQUIRED')).toEqual([]);
  });
});

describe('resp on a real redis-server: refused handshakes', () => {
  it.each([2, 3] as const)('RESP%i: a wrong password is HandshakeRefusedError, the password nowhere', async (protocolVersion) => {
    const err = await refusal(openSession(locked.server, resp({ password: WRONG, protocolVersion })));
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    const step = protocolVersion === 3 ? 'HELLO 3 AUTH' : 'AUTH';
    expect(err.message).toMatch(new RegExp(`^${step} failed on 127\\.0\\.0\\.1:\\d+: WRONGPASS `));
    expect(err.cause).toBeInstanceOf(RemoteError);
    expect(((err.cause as Error).cause as { code: string }).code).toBe('WRONGPASS');
    expectNoSecret(err, WRONG);
  });

  it('db 100000 (of 16) is HandshakeRefusedError naming SELECT, the password nowhere', async () => {
    const err = await refusal(openSession(locked.server, resp({ password: SERVER_PASSWORD, db: 100_000 })));
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toMatch(/^SELECT 100000 failed on 127\.0\.0\.1:\d+: ERR DB index is out of range/);
    expectNoSecret(err, SERVER_PASSWORD);
  });

  it('no password configured against a server that wants one: NOAUTH is refused', async () => {
    const err = await refusal(openSession(locked.server, resp()));
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toMatch(/^PING failed on .*: NOAUTH /);
  });

  it('an ACL user not allowed a handshake step: NOPERM is refused', async () => {
    await locked.server.command(['ACL', 'SETUSER', 'noselect', 'on', '>noselect-Pw', '~*', '+@all', '-select']);
    const err = await refusal(openSession(locked.server, resp({ username: 'noselect', password: 'noselect-Pw', db: 1 })));
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toMatch(/^SELECT 1 failed on .*: NOPERM /);
    expectNoSecret(err, 'noselect-Pw');
  });

  it('a handshake that times out stays HandshakeFailedError (a retry may succeed)', async () => {
    const frozen = await startRedis();
    try {
      frozen.freeze();
      const ac = new AbortController();
      const opening = openSession(frozen, resp(), ac.signal);
      setTimeout(() => ac.abort(new Error('handshake timeout')), 200);
      const err = await refusal(opening);
      expect(hasCode(err, 'WW_HANDSHAKE_FAILED')).toBe(true);
      expect(hasCode(err.cause, 'WW_ABORTED')).toBe(true);
    } finally {
      frozen.thaw();
      await frozen.stop();
    }
  });
});
