/**
 * Reads client commands (RESP arrays of bulk strings) off a byte stream, independently of
 * the library's reply parser, so the fake servers do not test the parser with itself.
 * Re-scans its buffer on each chunk: simple, and fine for test traffic.
 */
export class CommandReader {
  #buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the commands it completed. Throws on anything but bulk arrays. */
  push(chunk: Buffer): Buffer[][] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const out: Buffer[][] = [];
    for (;;) {
      const parsed = readCommand(this.#buffer);
      if (parsed === undefined) return out;
      out.push(parsed.args);
      this.#buffer = this.#buffer.subarray(parsed.next);
    }
  }
}

function readLine(buf: Buffer, at: number): { text: string; next: number } | undefined {
  const end = buf.indexOf('\r\n', at);
  return end < 0 ? undefined : { text: buf.toString('latin1', at, end), next: end + 2 };
}

function readCommand(buf: Buffer): { args: Buffer[]; next: number } | undefined {
  const head = readLine(buf, 0);
  if (head === undefined) return undefined;
  if (head.text[0] !== '*') throw new Error(`not a command array: ${JSON.stringify(head.text)}`);
  const count = Number(head.text.slice(1));
  let at = head.next;
  const args: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const len = readLine(buf, at);
    if (len === undefined) return undefined;
    if (len.text[0] !== '$') throw new Error(`not a bulk string: ${JSON.stringify(len.text)}`);
    const n = Number(len.text.slice(1));
    if (buf.length < len.next + n + 2) return undefined;
    args.push(buf.subarray(len.next, len.next + n));
    if (buf.toString('latin1', len.next + n, len.next + n + 2) !== '\r\n') throw new Error('bulk string without CRLF');
    at = len.next + n + 2;
  }
  return { args, next: at };
}

/** A command's arguments as strings. */
export function asStrings(args: Buffer[]): string[] {
  return args.map((a) => a.toString('utf8'));
}
