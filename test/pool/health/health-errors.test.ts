/**
 * The two errors of endpoint health: both are transient (a retry later can succeed), both
 * keep their cause, and both rebuild from their code after crossing a worker boundary.
 */
import { describe, expect, it } from 'vitest';
import { CircuitOpenError, DialRefusedError, errorFromCode, PoolOverloadedError, WirewardenError } from '../../../src/index.js';

describe('endpoint-health errors', () => {
  it('WW_CIRCUIT_OPEN is retryable and carries the last failure as cause', () => {
    const last = new DialRefusedError('connect ECONNREFUSED 127.0.0.1:6379');
    const err = new CircuitOpenError('circuit open for 127.0.0.1:6379', { cause: last });
    expect(err).toBeInstanceOf(WirewardenError);
    expect(err.code).toBe('WW_CIRCUIT_OPEN');
    expect(err.retryable).toBe(true);
    expect(err.cause).toBe(last);
    expect(errorFromCode('WW_CIRCUIT_OPEN', 'x')).toBeInstanceOf(CircuitOpenError);
  });

  it('WW_POOL_OVERLOADED is retryable', () => {
    const err = new PoolOverloadedError('acquire shed');
    expect(err.code).toBe('WW_POOL_OVERLOADED');
    expect(err.retryable).toBe(true);
    expect(errorFromCode('WW_POOL_OVERLOADED', 'x')).toBeInstanceOf(PoolOverloadedError);
  });
});
