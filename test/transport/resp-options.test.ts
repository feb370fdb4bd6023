/**
 * `resp()` options: defaults, strict validation at construction (unknown keys, ranges,
 * shapes), and a bad password option reported without its value.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { resp, RESP_DEFAULTS, type RespOptions } from '../../src/transport/resp.js';

function failure(options: unknown): Error {
  try {
    resp(options as RespOptions);
  } catch (err) {
    expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
    return err as Error;
  }
  throw new Error('expected resp() to throw');
}

describe('resp options', () => {
  it('has the documented defaults and builds a frozen protocol with reset()', () => {
    expect(RESP_DEFAULTS).toEqual({
      protocolVersion: 2, returnBuffers: false, requestTimeoutMs: 10_000, closeTimeoutMs: 5_000,
      maxBulkBytes: 512 * 1024 * 1024, maxAggregateLength: 2 ** 32 - 1, maxNestingDepth: 128, maxQueuedBytes: 8 * 1024 * 1024,
      maxReplyAmplification: 16,
    });
    const p = resp();
    expect(p.name).toBe('resp');
    expect(typeof p.reset).toBe('function');
    expect(Object.isFrozen(p)).toBe(true);
    expect(resp({})).toBeDefined();
  });

  it.each([
    [{ db: -1 }, 'resp.db must be an integer in [0, 2147483647], got -1'],
    [{ protocolVersion: 4 }, 'resp.protocolVersion must be 2 or 3, got 4'],
    [{ requestTimeoutMs: 1.5 }, 'resp.requestTimeoutMs must be an integer in [0, 2147483647] (ms), got 1.5'],
    [{ maxBulkBytes: 0 }, 'resp.maxBulkBytes must be an integer in [1, 4294967295], got 0'],
    [{ clientName: 'has space' }, 'resp.clientName must be a non-empty string of printable ASCII without spaces, got "has space"'],
    [{ username: '' }, 'resp.username must be a non-empty string, got ""'],
    [{ returnBuffers: 'yes' }, 'resp.returnBuffers must be a boolean, got "yes"'],
    [{ username: 'app' }, 'resp.username requires resp.password (AUTH needs both)'],
    [{ passwd: 'x' }, 'resp.passwd is not a known option (known: username, password, db, protocolVersion, clientName, returnBuffers, requestTimeoutMs, closeTimeoutMs, maxBulkBytes, maxAggregateLength, maxNestingDepth, maxReplyAmplification, maxQueuedBytes)'],
    [{ maxNestingDepth: 0 }, 'resp.maxNestingDepth must be an integer in [1, 65536], got 0'],
    [{ maxNestingDepth: 65_537 }, 'resp.maxNestingDepth must be an integer in [1, 65536], got 65537'],
    [{ maxReplyAmplification: 0.5 }, 'resp.maxReplyAmplification must be a number >= 1 or Infinity, got 0.5'],
    [{ maxReplyAmplification: Number.NaN }, 'resp.maxReplyAmplification must be a number >= 1 or Infinity, got NaN'],
  ])('rejects %j', (options, message) => {
    expect(failure(options).message).toBe(message);
  });

  it('reports a bad password by its type, never its value', () => {
    expect(failure({ password: 123456789 }).message).toBe('resp.password must be a non-empty string, got a number');
    expect(failure({ password: '' }).message).toBe('resp.password must be a non-empty string, got an empty string');
  });
});
