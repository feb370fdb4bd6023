/**
 * `retryable` is part of the error contract: every class says whether a retry can help,
 * rebuilt errors keep it, and docs/errors.md's column says the same as the code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DialRefusedError, EndpointRefusedError, errorFromCode, HandshakeRefusedError, InvalidOptionError, PoolClosedError,
  PoolTimeoutError, RemoteError, RequestTimeoutError, WirewardenError,
} from '../src/index.js';
import { errorCodes } from '../src/errors.js';
import { RespParser } from '../src/transport/resp-parser.js';

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

  it('a RemoteError is permanent by default and says per error when the server is only transiently unable', () => {
    expect(new RemoteError('ERR unknown command').retryable).toBe(false);
    expect(new RemoteError('server busy', { retryable: true }).retryable).toBe(true);
    // Only RemoteError decides per error: another class keeps its code's answer.
    expect(new PoolClosedError('x', { retryable: true } as never).retryable).toBe(false);
    expect(new PoolTimeoutError('x', { retryable: false } as never).retryable).toBe(true);
  });

  it("resp(): Redis's transient error replies are retryable RemoteErrors, the others are not", () => {
    const replies: unknown[] = [];
    const parser = new RespParser((value) => replies.push(value), {});
    const lines = [
      'LOADING Redis is loading the dataset in memory', 'BUSY Redis is busy running a script.',
      'TRYAGAIN Multiple keys request during rehashing of slot', 'MASTERDOWN Link with MASTER is down',
      'CLUSTERDOWN The cluster is down', "READONLY You can't write against a read only replica.",
      'ERR unknown command', 'WRONGTYPE Operation against a key holding the wrong kind of value',
      'BUSYGROUP Consumer Group name already exists', 'BUSYKEY Target key name already exists.', 'NOSCRIPT No matching script.',
    ];
    parser.push(Buffer.from(lines.map((l) => `-${l}\r\n`).join('') + '!11\r\nLOADING now\r\n'));
    expect(replies.map((r) => [(r as RemoteError).message.split(' ')[0], (r as RemoteError).retryable])).toEqual([
      ['LOADING', true], ['BUSY', true], ['TRYAGAIN', true], ['MASTERDOWN', true], ['CLUSTERDOWN', true], ['READONLY', true],
      ['ERR', false], ['WRONGTYPE', false], ['BUSYGROUP', false], ['BUSYKEY', false], ['NOSCRIPT', false],
      ['LOADING', true],
    ]);
    expect(replies.every((r) => r instanceof RemoteError)).toBe(true);
  });
});
