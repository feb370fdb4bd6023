/**
 * Which failures count against an endpoint. Every error code must be placed explicitly, so a
 * new code cannot slip in as "ignored" by default without a decision.
 */
import { describe, expect, it } from 'vitest';
import {
  AbortedError, CircuitOpenError, ConnectionClosedError, DialRefusedError, DialTimeoutError, HandshakeRefusedError,
  LeaseLostError, PoolOverloadedError, PoolTimeoutError, ProtocolError, RemoteError, RequestTimeoutError,
} from '../../../src/index.js';
import { errorCodes } from '../../../src/errors.js';
import { classifierWith, classifyError, outcomeByCode } from '../../../src/pool/health/classify-outcome.js';

describe('classifyError', () => {
  it('places every error code explicitly', () => {
    const unplaced = errorCodes().filter((code) => !Object.hasOwn(outcomeByCode, code));
    expect(unplaced).toEqual([]);
  });

  it("dial and handshake failures, deaths and timeouts are the connection's; a retryable error reply is the server's", () => {
    for (const err of [new DialRefusedError('x'), new DialTimeoutError('x'), new HandshakeRefusedError('x'),
      new ConnectionClosedError('x'), new LeaseLostError('x'), new RequestTimeoutError('x')]) {
      expect(classifyError(err), err.code).toBe('connection-failure');
    }
    expect(classifyError(new ProtocolError('x'))).toBe('server-failure');
    expect(classifyError(new RemoteError('LOADING', { retryable: true }))).toBe('server-failure');
  });

  it("a caller's bad request is a success (the server answered); local refusals and aborts are no evidence", () => {
    expect(classifyError(undefined)).toBe('success');
    expect(classifyError(new RemoteError('ERR wrong number of arguments'))).toBe('success');
    for (const err of [new AbortedError('x'), new PoolTimeoutError('x'), new PoolOverloadedError('x'), new CircuitOpenError('x')]) {
      expect(classifyError(err), err.code).toBe('ignored');
    }
  });

  it("counts another library's socket errors, and ignores what the caller's own code throws", () => {
    expect(classifyError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('connection-failure');
    expect(classifyError(new TypeError('x is not a function'))).toBe('ignored');
    expect(classifyError('a string')).toBe('ignored');
  });

  it('an override decides first and falls back when it returns undefined', () => {
    const classify = classifierWith((err) => (err instanceof TypeError ? 'server-failure' : undefined));
    expect(classify(new TypeError('x'))).toBe('server-failure');
    expect(classify(new DialRefusedError('x'))).toBe('connection-failure');
  });
});
