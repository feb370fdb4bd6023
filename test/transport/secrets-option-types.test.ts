/**
 * A secret option of the wrong type is reported by its type only: a password, token, key
 * or passphrase mistyped as a number, an object or an array is still the secret, so no
 * message, stack or inspection of the error may show it.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { describeType } from '../../src/options.js';
import { resp } from '../../src/transport/resp.js';
import { tls } from '../../src/transport/tls.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';

/** A secret that could be mistyped as a number, and what it looks like printed. */
const NUMBER_SECRET = 918273645;
const OBJECT_SECRET = { pem: '-----BEGIN PRIVATE KEY----- MIIsecretKEYbody' };

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
    return err as Error;
  }
  throw new Error('expected InvalidOptionError');
}

/** Everything a log could print of the error. */
const printed = (err: Error): string => `${err.message}\n${err.stack}\n${inspect(err, { depth: null, showHidden: true })}\n${JSON.stringify(err)}`;

describe('secret options of the wrong type', () => {
  const cases: Array<[string, (value: never) => unknown, string]> = [
    ['wire({ token })', (token) => wire({ token }), 'wire.token must be a string'],
    ['createWireServer({ token })', (token) => createWireServer({ token }), 'wireServer.token must be a string'],
    ['tls({ passphrase })', (passphrase) => tls({ passphrase }), 'tls.passphrase must be a string'],
    ['tls({ key })', (key) => tls({ key }), 'tls.key must be a string, a Buffer or an array of them'],
    ['resp({ password })', (password) => resp({ password }), 'resp.password must be a non-empty string'],
  ];

  for (const [what, build, expected] of cases) {
    it(`${what}: a number, an object or an array is named by its type, never printed`, () => {
      const asNumber = failure(() => build(NUMBER_SECRET as never));
      expect(asNumber.message).toBe(`${expected}, got a number`);
      expect(printed(asNumber)).not.toContain(String(NUMBER_SECRET));

      const asObject = failure(() => build(OBJECT_SECRET as never));
      expect(asObject.message).toBe(`${expected}, got an object`);
      expect(printed(asObject)).not.toContain('MIIsecretKEYbody');

      const asArray = failure(() => build([OBJECT_SECRET.pem, NUMBER_SECRET] as never));
      expect(asArray.message).toBe(`${expected}, got an array`);
      expect(printed(asArray)).not.toContain('MIIsecretKEYbody');
      expect(printed(asArray)).not.toContain(String(NUMBER_SECRET));
    });
  }

  it('an empty password is "an empty string"; valid secrets of every accepted type build', () => {
    expect(failure(() => resp({ password: '' })).message).toBe('resp.password must be a non-empty string, got an empty string');
    expect(() => wire({ token: '' })).not.toThrow();
    expect(() => tls({ key: Buffer.from('k'), passphrase: 'p' })).not.toThrow();
    expect(() => tls({ key: ['a', Buffer.from('b')] })).not.toThrow();
  });

  it('describeType names kinds only', () => {
    expect([undefined, null, '', 'x', 1, 1n, true, Symbol('s'), () => 1, [], Buffer.alloc(1), {}].map(describeType)).toEqual([
      'undefined', 'null', 'an empty string', 'a string', 'a number', 'a bigint', 'a boolean', 'a symbol', 'a function',
      'an array', 'a Buffer', 'an object',
    ]);
  });
});
