/**
 * A WebSocket client for the relay tests: the `ws` package (what `@statelyai/inspect`
 * uses in Node), typed here because it ships no declarations, collecting every text
 * message it receives.
 */
import type { IncomingMessage } from 'node:http';

interface WsSocket {
  readonly readyState: number;
  on(event: 'open' | 'close', listener: (code?: number) => void): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'unexpected-response', listener: (req: unknown, res: IncomingMessage) => void): void;
  send(data: string): void;
  close(): void;
}
type WsConstructor = new (url: string, options?: { headers?: Record<string, string>; maxPayload?: number }) => WsSocket;

const WS_PACKAGE: string = 'ws';
const { WebSocket } = (await import(WS_PACKAGE)) as { WebSocket: WsConstructor };

export interface RelayClient {
  readonly messages: Array<Record<string, unknown> & { type: string }>;
  readonly raw: string[];
  /** The close code, once closed. */
  readonly closed: Promise<number>;
  send(text: string): void;
  /** Resolves once `count` messages match. */
  until(match: (m: Record<string, unknown> & { type: string }) => boolean, count?: number, limitMs?: number): Promise<void>;
  close(): void;
}

/** Connects; rejects with `status <n>` when the upgrade is refused. */
export function relayClient(url: string, headers?: Record<string, string>): Promise<RelayClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, headers ? { headers } : {});
    const messages: RelayClient['messages'] = [];
    const raw: string[] = [];
    const waiters = new Set<() => void>();
    const closed = new Promise<number>((done) => ws.on('close', (code) => done(code ?? 0)));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.on('error', (err) => reject(err));
    ws.on('message', (data) => {
      const text = data.toString('utf8');
      raw.push(text);
      messages.push(JSON.parse(text) as RelayClient['messages'][number]);
      for (const w of waiters) w();
    });
    ws.on('open', () =>
      resolve({
        messages, raw, closed,
        send: (text) => ws.send(text),
        close: () => ws.close(),
        until(match, count = 1, limitMs = 5000) {
          return new Promise((done, fail) => {
            const check = (): void => {
              if (messages.filter(match).length < count) return;
              waiters.delete(check);
              clearTimeout(timer);
              done();
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`fewer than ${count} matching messages within ${limitMs} ms (got ${messages.length}: ${[...new Set(messages.map((m) => m.type))].join(', ')})`));
            }, limitMs);
            waiters.add(check);
            check();
          });
        },
      }));
  });
}
