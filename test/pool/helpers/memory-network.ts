/**
 * An in-memory network for supervised-pool tests in virtual time: a Transport whose
 * endpoints are up or down (a dial to a down endpoint is refused at once, like a closed
 * port), and a Protocol whose sessions answer at once. `down()` also closes every open
 * stream of that endpoint, so its connection actors see the peer go away.
 */
import { PassThrough, type Duplex } from 'node:stream';
import { DialRefusedError, HandshakeRefusedError } from '../../../src/errors.js';
import type { DialOptions, Endpoint, Protocol, Transport } from '../../../src/transport/types.js';

export interface MemSession {
  readonly serial: number;
  readonly endpoint: string;
  readonly stream: Duplex;
  /** Echoes, or rejects once the stream is gone. */
  request(payload: unknown): Promise<unknown>;
  /** A state the next holder must not inherit (like RESP inside MULTI); cleared by reset. */
  dirty: boolean;
}

const keyOf = (e: Endpoint): string => e.path ?? `${e.host}:${e.port}`;

export class MemoryNetwork {
  readonly up = new Set<string>();
  /** Every dial, in order: the endpoint key and whether it connected. */
  readonly dials: { endpoint: string; ok: boolean }[] = [];
  readonly streams = new Map<string, Set<Duplex>>();
  /** Probes and resets hang when set (a peer that stopped answering). */
  hangChecks = false;
  resets = 0;
  /** Endpoints whose handshake is refused for good (a wrong password). */
  readonly refusing = new Set<string>();
  #serial = 0;

  readonly transport: Transport = {
    kind: 'memory',
    dial: (endpoint: Endpoint, _options: DialOptions): Promise<Duplex> => {
      const key = keyOf(endpoint);
      const ok = this.up.has(key);
      this.dials.push({ endpoint: key, ok });
      if (!ok) return Promise.reject(new DialRefusedError(`dial ${key} refused (ECONNREFUSED)`));
      const stream = new PassThrough();
      let set = this.streams.get(key);
      if (!set) this.streams.set(key, (set = new Set()));
      set.add(stream);
      stream.once('close', () => set.delete(stream));
      return Promise.resolve(stream);
    },
  };

  readonly protocol: Protocol<MemSession> = {
    name: 'memory',
    open: (stream, ctx) => {
      const serial = ++this.#serial;
      const endpoint = keyOf(ctx.endpoint);
      if (this.refusing.has(endpoint)) {
        stream.destroy();
        return Promise.reject(new HandshakeRefusedError(`AUTH failed on ${endpoint}: WRONGPASS invalid username-password pair`));
      }
      return Promise.resolve({
        dirty: false,
        serial,
        endpoint,
        stream,
        request: (payload: unknown) =>
          stream.destroyed ? Promise.reject(new Error('stream closed')) : Promise.resolve(payload),
      });
    },
    probe: (_session, signal) =>
      this.hangChecks ? new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })) : Promise.resolve(),
    needsReset: (session) => session.dirty,
    reset: (session) => {
      this.resets++;
      session.dirty = false;
      return this.hangChecks ? new Promise<void>(() => {}) : Promise.resolve();
    },
    close: () => Promise.resolve(),
  };

  /** The same protocol without `reset()`: a dirty session can only be retired. */
  get protocolWithoutReset(): Protocol<MemSession> {
    const { reset: _reset, ...rest } = this.protocol;
    return rest;
  }

  setUp(key: string): void {
    this.up.add(key);
  }

  /** Refuses new dials and drops every open connection to `key`. */
  setDown(key: string): void {
    this.up.delete(key);
    for (const s of [...(this.streams.get(key) ?? [])]) s.destroy();
  }

  /** Open streams, across endpoints. */
  get open(): number {
    let n = 0;
    for (const set of this.streams.values()) n += set.size;
    return n;
  }

  dialsTo(key: string): number {
    return this.dials.filter((d) => d.endpoint === key).length;
  }
}
