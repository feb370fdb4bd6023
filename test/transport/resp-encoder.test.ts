/**
 * The RESP command encoder: the bytes of arrays of bulk strings, large Buffers not
 * copied, bad arguments refused before anything is written (messages name the index,
 * never the value).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { encodeCommand, type RespArg } from '../../src/transport/resp-encoder.js';
import { CommandReader } from './resp-helpers/command-reader.js';

const MAX = 512 * 1024 * 1024;

function bytesOf(args: RespArg[], max = MAX): Buffer {
  const { chunks, bytes } = encodeCommand(args, max);
  const out = Buffer.concat(chunks);
  expect(out.length).toBe(bytes);
  return out;
}

function thrown(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('resp encoder', () => {
  it('encodes strings (UTF-8 byte lengths), numbers and bigints as bulk strings in one buffer', () => {
    const { chunks } = encodeCommand(['SET', 'clé', 42, -1.5, 2n ** 70n], MAX);
    expect(chunks).toHaveLength(1);
    expect(bytesOf(['SET', 'clé', 42, -1.5, 2n ** 70n]).toString()).toBe(
      '*5\r\n$3\r\nSET\r\n$4\r\nclé\r\n$2\r\n42\r\n$4\r\n-1.5\r\n$22\r\n1180591620717411303424\r\n',
    );
  });

  it('writes Buffer arguments byte for byte, and large ones without copying', () => {
    expect(bytesOf(['SET', Buffer.from([0, 13, 10, 255])]).equals(Buffer.concat([Buffer.from('*2\r\n$3\r\nSET\r\n$4\r\n'), Buffer.from([0, 13, 10, 255]), Buffer.from('\r\n')]))).toBe(true);
    const big = Buffer.alloc(100_000, 7);
    const { chunks, bytes } = encodeCommand(['SET', 'k', big], MAX);
    expect(chunks).toContain(big);
    expect(bytes).toBe(Buffer.concat(chunks).length);
  });

  it('round-trips any arguments through a server-side command reader', () => {
    const arg = fc.oneof(fc.string(), fc.uint8Array({ maxLength: 50 }).map((u) => Buffer.from(u)), fc.integer(), fc.bigInt());
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 8 }), (args) => {
        const [command] = new CommandReader().push(bytesOf(args));
        expect(command).toEqual(args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a)))));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses an empty command and bad arguments, naming the index and not the value', () => {
    expect(hasCode(thrown(() => encodeCommand([], MAX)), 'WW_INVALID_OPTION')).toBe(true);
    const err = thrown(() => encodeCommand(['SET', 'k', { secret: 'hunter2' } as unknown as string], MAX));
    expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
    expect(err.message).toBe('command[2] must be a string, a Buffer, a finite number or a bigint, got an object');
    expect(hasCode(thrown(() => encodeCommand(['INCRBYFLOAT', 'k', NaN], MAX)), 'WW_INVALID_OPTION')).toBe(true);
    expect(hasCode(thrown(() => encodeCommand(['SET', 'k', null as unknown as string], MAX)), 'WW_INVALID_OPTION')).toBe(true);
  });

  it('refuses an argument above maxBulkBytes with FrameTooLargeError', () => {
    const err = thrown(() => encodeCommand(['SET', 'k', 'é'.repeat(6)], 11));
    expect(hasCode(err, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(err.message).toBe('command[2] of 12 bytes exceeds maxBulkBytes 11');
    expect(hasCode(thrown(() => encodeCommand(['SET', Buffer.alloc(12)], 11)), 'WW_FRAME_TOO_LARGE')).toBe(true);
  });
});
