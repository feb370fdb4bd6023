/**
 * Encodes a Redis command as a RESP array of bulk strings, the only request form Redis
 * accepts from clients besides inline commands.
 *
 *   ['SET', 'k', 42]  ──▶  *3\r\n $3\r\nSET\r\n $1\r\nk\r\n $2\r\n42\r\n
 *
 * Trade-offs:
 * - Strings and numbers are gathered into one JS string and converted once (one
 *   allocation for the common all-text command). Buffer arguments are chunks of their
 *   own, so a 100 MiB value is never copied; a command under 16 KiB in total is joined
 *   into one buffer. A caller must not mutate a Buffer argument after handing it over.
 * - Arguments are checked here, before a byte is written: anything but a string, a
 *   Uint8Array, a finite number or a bigint is an `InvalidOptionError` naming its index;
 *   an argument above `maxBulkBytes` is a `FrameTooLargeError` (Redis would refuse it
 *   with `proto-max-bulk-len` after we had sent it all).
 * - Error messages name the index and size of a bad argument, never its content: a
 *   command may carry a password or a user's data.
 */
import { FrameTooLargeError, InvalidOptionError } from '../errors.js';

/** One command argument. Numbers and bigints are sent in decimal. */
export type RespArg = string | Uint8Array | number | bigint;

/** A command smaller than this is joined into one buffer (one write, one syscall slot). */
const COPY_BELOW_BYTES = 16 * 1024;

/** A command encoded as chunks to write in order, and their total size. */
export interface EncodedCommand {
  readonly chunks: readonly Uint8Array[];
  readonly bytes: number;
}

/**
 * Encodes `args` as a RESP array of bulk strings.
 *
 * @example
 * const { chunks, bytes } = encodeCommand(['SET', 'k', Buffer.from('v')], 512 * 1024 * 1024);
 * for (const c of chunks) socket.write(c);   // bytes === 29
 */
export function encodeCommand(args: readonly RespArg[], maxBulkBytes: number): EncodedCommand {
  if (!Array.isArray(args) || args.length === 0) {
    throw new InvalidOptionError(`command must be a non-empty array of arguments, got ${Array.isArray(args) ? 'an empty array' : typeof args}`);
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let text = `*${args.length}\r\n`;
  const flush = (): void => {
    const b = Buffer.from(text, 'utf8');
    chunks.push(b);
    bytes += b.length;
    text = '';
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'string') {
      const n = Buffer.byteLength(arg);
      if (n > maxBulkBytes) throw tooLarge(i, n, maxBulkBytes);
      text += `$${n}\r\n${arg}\r\n`;
    } else if (arg instanceof Uint8Array) {
      if (arg.length > maxBulkBytes) throw tooLarge(i, arg.length, maxBulkBytes);
      text += `$${arg.length}\r\n`;
      flush();
      chunks.push(arg);
      bytes += arg.length;
      text = '\r\n';
    } else if ((typeof arg === 'number' && Number.isFinite(arg)) || typeof arg === 'bigint') {
      const s = String(arg);
      text += `$${s.length}\r\n${s}\r\n`;
    } else {
      throw new InvalidOptionError(`command[${i}] must be a string, a Buffer, a finite number or a bigint, got ${describeArg(arg)}`);
    }
  }
  flush();
  // Small commands leave in one buffer; large ones keep their big arguments uncopied.
  if (chunks.length > 1 && bytes < COPY_BELOW_BYTES) return { chunks: [Buffer.concat(chunks, bytes)], bytes };
  return { chunks, bytes };
}

function tooLarge(index: number, size: number, max: number): FrameTooLargeError {
  return new FrameTooLargeError(`command[${index}] of ${size} bytes exceeds maxBulkBytes ${max}`);
}

function describeArg(arg: unknown): string {
  if (arg === null) return 'null';
  if (typeof arg === 'number') return String(arg);
  return Array.isArray(arg) ? 'an array' : typeof arg === 'object' ? 'an object' : typeof arg;
}
