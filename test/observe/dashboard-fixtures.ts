/**
 * Loopback fixtures for the dashboard and relay tests: an SSE reader over a real HTTP
 * connection, raw requests with chosen headers, bounded polling, and the handles a
 * close must give back.
 */
import { request, type IncomingMessage } from 'node:http';

export interface SseMessage {
  readonly event: string;
  readonly data: unknown;
  /** Raw text of the message, to search for what must never be sent. */
  readonly text: string;
}

export interface SseReader {
  readonly messages: SseMessage[];
  readonly raw: () => string;
  readonly ended: Promise<void>;
  /** Resolves with the first message (already received or not) that matches. */
  next(match: (m: SseMessage) => boolean, limitMs?: number): Promise<SseMessage>;
  close(): void;
}

/** Opens `url` as an event stream and parses messages as they arrive. */
export function readSse(url: string): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`status ${res.statusCode}`));
      }
      const messages: SseMessage[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      let all = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        all += chunk;
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const text = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of text.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data !== '') messages.push({ event, data: JSON.parse(data), text });
        }
        for (const w of waiters) w();
      });
      const ended = new Promise<void>((done) => {
        res.once('close', () => done());
      });
      resolve({
        messages,
        raw: () => all,
        ended,
        next(match, limitMs = 5000) {
          return new Promise((found, fail) => {
            const check = (): void => {
              const m = messages.find(match);
              if (m === undefined) return;
              waiters.delete(check);
              clearTimeout(timer);
              found(m);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no matching SSE message within ${limitMs} ms; got ${messages.map((m) => m.event).join(', ')}`));
            }, limitMs);
            waiters.add(check);
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** One request with exactly these headers (fetch would not let a test forge `Host`). */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function waitFor(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

/** Sockets, servers and timers: what a close must give back. */
export function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length;
}

/** Waits (bounded) until the handle count is back to `baseline`; returns the count. */
export async function handlesBackTo(baseline: number, limitMs = 3000): Promise<number> {
  const start = Date.now();
  while (handles() > baseline && Date.now() - start < limitMs) await new Promise((r) => setTimeout(r, 10));
  return handles();
}
