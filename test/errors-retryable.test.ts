/**
 * `retryable` is part of the error contract: every class says whether a retry can help,
 * rebuilt errors keep it, and docs/errors.md's column says the same as the code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DialRefusedError, EndpointRefusedError, errorFromCode, HandshakeRefusedError, InvalidOptionError, PoolClosedError,
  PoolTimeoutError, RequestTimeoutError, WirewardenError,
} from '../src/index.js';
import { errorCodes } from '../src/errors.js';

const table = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...table.matchAll(/^\| `(WW_[A-Z_]+)` \| `\w+` \| (yes|no) \|/gm)].map((m) => [m[1]!, m[2] === 'yes'] as const),
);

describe('WirewardenError.retryable', () => {
  it('docs/errors.md gives every code a retryable column that matches the class', () => {
    expect([...documented.keys()].sort()).toEqual(errorCodes().sort());
    for (const [code, retryable] of documented) {
      expect(errorFromCode(code, 'x').retryable, code).toBe(retryable);
    }
  });

  it('transient failures are retryable; permanent ones are not', () => {
    expect(new DialRefusedError('x').retryable).toBe(true);
    expect(new RequestTimeoutError('x').retryable).toBe(true);
    expect(new PoolTimeoutError('x').retryable).toBe(true);
    expect(new HandshakeRefusedError('x').retryable).toBe(false);
    expect(new EndpointRefusedError('x').retryable).toBe(false);
    expect(new InvalidOptionError('x').retryable).toBe(false);
    expect(new PoolClosedError('x').retryable).toBe(false);
  });

  it('is a plain boolean property, visible where the error is logged', () => {
    const err: WirewardenError = new PoolTimeoutError('acquire timed out');
    expect(Object.keys(err)).toContain('retryable');
    expect({ ...err }).toMatchObject({ code: 'WW_POOL_TIMEOUT', retryable: true });
  });
});
