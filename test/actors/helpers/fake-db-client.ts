/**
 * A fake self-dialing client library, in virtual time, shaped like node-postgres or
 * mysql2: an EventEmitter with `connect()`, `query()` and `end()`, emitting `'error'` and
 * `'end'` when it dies and `'traffic'` per reply (where a library tells of its reads).
 * It dials by itself: no stream is handed to it. `FakeDbServer` is what it "connects"
 * to, and what a test controls (delays, refusal, freeze, kill).
 *
 * `fakeDbProtocol(server)` is the `custom({ connect, … })` a user would write for it.
 */
import { EventEmitter } from 'node:events';
import type { SchedulerLike } from 'rxjs';
import { custom } from '../../../src/transport/custom.js';
import type { ConnectProtocol, Endpoint } from '../../../src/transport/types.js';

export class FakeDbError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

export interface FakeDbServerOptions {
  readonly scheduler: SchedulerLike;
  /** Time to connect (and authenticate). Default 0. */
  connectMs?: number;
  /** Time to answer a query. Default 1. */
  replyMs?: number;
}

export class FakeDbServer {
  readonly scheduler: SchedulerLike;
  connectMs: number;
  replyMs: number;
  /** connect() rejects with this. */
  connectError: Error | undefined = undefined;
  /** connect() never settles (but honours destroy). */
  connectHangs = false;
  /** Queries get no reply (a frozen server). */
  frozen = false;
  readonly clients: FakeDbClient[] = [];
  /** Every query any client sent, with its time. */
  readonly queries: { sql: string; at: number; client: number }[] = [];

  constructor(options: FakeDbServerOptions) {
    this.scheduler = options.scheduler;
    this.connectMs = options.connectMs ?? 0;
    this.replyMs = options.replyMs ?? 1;
  }

  /** The server kills a client's connection (the library emits 'error' then 'end'). */
  kill(client: FakeDbClient, error = new FakeDbError('terminating connection due to administrator command', '57P01')): void {
    client.destroy(error);
  }

  get live(): FakeDbClient[] {
    return this.clients.filter((c) => c.connected && !c.ended);
  }
}

let nextId = 1;

export class FakeDbClient extends EventEmitter {
  readonly id = nextId++;
  readonly server: FakeDbServer;
  readonly endpoint: Endpoint;
  connected = false;
  ended = false;
  /** end() calls, and the signal each got. */
  readonly endSignals: (AbortSignal | undefined)[] = [];
  /** end() never finishes by itself (only its signal ends it). */
  endHangs = false;
  #connecting: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(server: FakeDbServer, endpoint: Endpoint) {
    super();
    this.server = server;
    this.endpoint = endpoint;
    server.clients.push(this);
  }

  connect(): Promise<void> {
    const s = this.server;
    return new Promise<void>((resolve, reject) => {
      this.#connecting = { resolve, reject };
      if (s.connectHangs) return;
      s.scheduler.schedule(() => {
        if (this.#connecting === undefined) return;
        this.#connecting = undefined;
        if (this.ended) return reject(new Error('Client was closed and is not queryable'));
        if (s.connectError !== undefined) {
          this.ended = true;
          return reject(s.connectError);
        }
        this.connected = true;
        resolve();
      }, s.connectMs);
    });
  }

  query(sql: string): Promise<string> {
    if (this.ended || !this.connected) return Promise.reject(new Error('Client was closed and is not queryable'));
    const s = this.server;
    s.queries.push({ sql, at: s.scheduler.now(), client: this.id });
    return new Promise<string>((resolve, reject) => {
      if (s.frozen) {
        this.once('end', () => reject(new Error('Connection terminated')));
        return;
      }
      s.scheduler.schedule(() => {
        if (this.ended) return reject(new Error('Connection terminated'));
        resolve(`ok ${sql}`);
        this.emit('traffic');
      }, s.replyMs);
    });
  }

  /** Graceful end: emits 'end' and resolves; with `endHangs`, only its signal ends it. */
  end(signal?: AbortSignal): Promise<void> {
    this.endSignals.push(signal);
    if (this.ended) return Promise.resolve();
    if (this.endHangs) {
      return new Promise<void>((resolve) => {
        signal?.addEventListener('abort', () => {
          this.destroy();
          resolve();
        }, { once: true });
      });
    }
    this.destroy();
    return Promise.resolve();
  }

  /** Abrupt end (a socket error, an abort): 'error' (if any) then 'end'. */
  destroy(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    const connecting = this.#connecting;
    this.#connecting = undefined;
    if (connecting !== undefined) {
      connecting.reject(error ?? new Error('Connection terminated during connect'));
      return;
    }
    if (error !== undefined) this.emit('error', error);
    this.emit('end');
  }
}

export interface FakeDbProtocolOptions {
  /** The user forgot the signal: an aborted connect is not stopped (its client resolves late). */
  readonly deafConnect?: boolean;
  /** Wire 'traffic' to markAlive (default true). */
  readonly markAlive?: boolean;
  readonly withReset?: boolean;
  readonly refused?: (err: unknown) => boolean;
}

/** The `custom({ connect, probe, reset, close })` a user would write for this library. */
export function fakeDbProtocol(server: FakeDbServer, options: FakeDbProtocolOptions = {}): {
  readonly protocol: ConnectProtocol<FakeDbClient>;
  /** Every connect call: where to, and its signal. */
  readonly connects: { endpoint: Endpoint; signal: AbortSignal }[];
} {
  const connects: { endpoint: Endpoint; signal: AbortSignal }[] = [];
  const protocol = custom<FakeDbClient>({
    connect: async ({ endpoint, signal, lost, markAlive }) => {
      connects.push({ endpoint, signal });
      const client = new FakeDbClient(server, endpoint);
      client.on('error', lost);
      client.on('end', () => lost());
      if (options.markAlive !== false) client.on('traffic', markAlive);
      if (options.deafConnect === true) {
        await client.connect();
        return client;
      }
      const abort = (): void => client.destroy();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await client.connect();
      } finally {
        signal.removeEventListener('abort', abort);
      }
      return client;
    },
    probe: async (client) => {
      await client.query('SELECT 1');
    },
    ...(options.withReset === true ? { reset: async (client: FakeDbClient) => void (await client.query('DISCARD ALL')) } : {}),
    close: (client, signal) => client.end(signal),
    ...(options.refused === undefined ? {} : { refused: options.refused }),
  });
  return { protocol, connects };
}
