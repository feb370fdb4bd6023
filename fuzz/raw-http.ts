/**
 * A minimal HTTP/1.1 client over a raw socket, for the chaos API target: it must send
 * bytes `http.request` refuses to (any method token, unencoded paths, lying headers,
 * garbage) and see exactly what comes back — a status, or a close without one.
 *
 * Responses are read by Content-Length (every response of the API carries one, or is a
 * 204/304 or the answer to a HEAD), by chunks (Node's own answers), or to the close;
 * 1xx interim responses (`Expect: 100-continue`) are skipped. Anything else reads as
 * `malformed`.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export type ResponseOutcome = RawResponse | 'closed' | 'timeout' | 'malformed';

const HEAD_END = Buffer.from('\r\n\r\n');

/** One connection; `next()` reads responses in order. */
export class RawHttpConnection {
  readonly socket: Socket;
  closed = false;
  #buffer: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake?.();
    });
  }

  static open(port: number): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawHttpConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The next response; `headOnly` for the answer to a HEAD (no body despite Content-Length). */
  async next(timeoutMs: number, headOnly = false): Promise<ResponseOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.#parse(headOnly);
      if (parsed === 'malformed') return parsed;
      if (parsed !== undefined) {
        if (parsed.status >= 100 && parsed.status < 200) continue;
        return parsed;
      }
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  /** Resolves true once the server closed the connection, false after `timeoutMs`. */
  async whenClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #parse(headOnly: boolean): RawResponse | 'malformed' | undefined {
    const end = this.#buffer.indexOf(HEAD_END);
    if (end < 0) return this.#buffer.length > 65_536 ? 'malformed' : undefined;
    const lines = this.#buffer.toString('latin1', 0, end).split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
    if (match === null) return 'malformed';
    const status = Number(match[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) return 'malformed';
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const noBody = headOnly || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (!noBody && headers.get('transfer-encoding')?.toLowerCase() === 'chunked') return this.#chunked(status, headers, end + 4);
    const length = noBody ? 0 : Number(headers.get('content-length') ?? (headers.get('connection') === 'close' ? NaN : 0));
    if (Number.isNaN(length)) {
      // Body delimited by the close.
      if (!this.closed) return undefined;
      const body = this.#buffer.subarray(end + 4);
      this.#buffer = Buffer.alloc(0);
      return { status, headers, body };
    }
    if (this.#buffer.length < end + 4 + length) return undefined;
    const body = this.#buffer.subarray(end + 4, end + 4 + length);
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    return { status, headers, body };
  }

  /** A chunked body (Node's own answers, e.g. its 400 for a request without Host). */
  #chunked(status: number, headers: Map<string, string>, start: number): RawResponse | 'malformed' | undefined {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = this.#buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(this.#buffer.toString('latin1', at, lineEnd), 16);
      if (Number.isNaN(size)) return 'malformed';
      if (this.#buffer.length < lineEnd + 2 + size + 2) return undefined;
      if (size === 0) {
        this.#buffer = this.#buffer.subarray(lineEnd + 4);
        return { status, headers, body: Buffer.concat(parts) };
      }
      parts.push(this.#buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
}
