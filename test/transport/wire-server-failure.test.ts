/**
 * `describeFailure` turns any thrown value into an ERR body without throwing, and
 * `failureAsWarning` into an Error Node can print later without touching the original.
 */
import { describe, expect, it } from 'vitest';
import { GoawayError } from '../../src/errors.js';
import { MAX_FAILURE_CODE_CHARS, MAX_FAILURE_MESSAGE_CHARS, describeFailure, failureAsWarning } from '../../src/transport/wire-server-failure.js';

const UNPRINTABLE = 'a thrown value that cannot be converted to a string';

describe('describeFailure', () => {
  it.each<[string, unknown, { code?: string; message: string }]>([
    ['an Error', new Error('boom'), { message: 'boom' }],
    ['an Error with a code', Object.assign(new Error('boom'), { code: 'E_BOOM' }), { code: 'E_BOOM', message: 'boom' }],
    ['a non-string code', Object.assign(new Error('boom'), { code: 42 }), { message: 'boom' }],
    ['a string', 'plain', { message: 'plain' }],
    ['a number', 42, { message: '42' }],
    ['a bigint', 10n, { message: '10' }],
    ['a symbol', Symbol('s'), { message: 'Symbol(s)' }],
    ['undefined', undefined, { message: 'undefined' }],
    ['null', null, { message: 'null' }],
    ['a plain object', { a: 1 }, { message: '[object Object]' }],
    ['a null-prototype object', Object.create(null), { message: UNPRINTABLE }],
    ['a throwing toString', { toString: () => { throw new Error('x'); } }, { message: UNPRINTABLE }],
    ['a throwing message getter', Object.defineProperty({}, 'message', { get: () => { throw new Error('x'); } }), { message: '[object Object]' }],
    ['a revoked Proxy', (() => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy; })(), { message: UNPRINTABLE }],
    ['a function', Object.assign(() => {}, { message: 'fn failure' }), { message: 'fn failure' }],
    ['a code the client acts on (a rethrown GoawayError)', new GoawayError('downstream is going away'), { code: 'WW_REMOTE_ERROR', message: 'downstream is going away' }],
    ['another WW_ code, passed on', Object.assign(new Error('late'), { code: 'WW_REQUEST_TIMEOUT' }), { code: 'WW_REQUEST_TIMEOUT', message: 'late' }],
  ])('%s', (_what, value, body) => {
    expect(describeFailure(value)).toEqual(body);
  });

  it('cuts a long message on a code-point boundary and drops an overlong code', () => {
    const emoji = '😀'.repeat(MAX_FAILURE_MESSAGE_CHARS); // surrogate pairs: a naive cut could split one
    const { message, code } = describeFailure(Object.assign(new Error(emoji), { code: 'C'.repeat(MAX_FAILURE_CODE_CHARS + 1) }));
    expect(message.length).toBeLessThanOrEqual(MAX_FAILURE_MESSAGE_CHARS);
    expect(message.endsWith('…')).toBe(true);
    expect(Buffer.from(message, 'utf8').toString('utf8')).toBe(message); // no lone surrogate
    expect(code).toBeUndefined();
  });
});

describe('failureAsWarning', () => {
  it('builds a fresh Error named after the warning type, keeping the stack and the cause', () => {
    const original = new Error('listener broke');
    const w = failureAsWarning(original, 'WirewardenListenerWarning');
    expect(w).not.toBe(original);
    expect(w.name).toBe('WirewardenListenerWarning');
    expect(w.message).toBe('listener broke');
    expect(w.stack).toBe(original.stack);
    expect(w.cause).toBe(original);
    expect(failureAsWarning(Object.create(null), 'T').message).toBe(UNPRINTABLE);
  });
});
