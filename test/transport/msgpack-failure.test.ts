/**
 * The one sanitizer of msgpackr's decode errors (msgpack-failure.ts), shared by the
 * connection codec and PACKED inners: the quoted value is dropped, the text is bounded,
 * the name is kept. Both decoders' own tests (msgpack-codec, framing-packed) check that
 * their errors go through it.
 */
import { describe, expect, it } from 'vitest';
import { sanitizeDecodeError } from '../../src/transport/msgpack-failure.js';

describe('sanitizeDecodeError', () => {
  it('drops the value msgpackr quotes after trailing bytes', () => {
    const err = sanitizeDecodeError(new RangeError('Data read, but end of buffer not reached {"token":"s3cret"}'));
    expect(err.message).toBe('trailing bytes after the value');
    expect(err.name).toBe('RangeError');
    expect(err.cause).toBeUndefined();
  });

  it('keeps other messages, cut to 120 characters, and describes a thrown non-Error', () => {
    expect(sanitizeDecodeError(new Error(`Unexpected end of MessagePack data ${'x'.repeat(200)}`)).message).toHaveLength(120);
    const odd = sanitizeDecodeError('not an error');
    expect([odd.name, odd.message]).toEqual(['Error', 'not an error']);
  });
});
