/**
 * `ChaosProxy`: a TCP proxy on loopback with Toxiproxy's toxics, per direction.
 *
 *   client ──▶ listen (127.0.0.1:port) ──▶ ChaosConnection ──▶ upstream host:port
 *
 * A proxy keeps its toxic list; every live connection gets each toxic (toxicity rolled
 * per connection) and follows additions, updates and removals as they happen, as in
 * Toxiproxy. `disable()` closes the listener — new clients get ECONNREFUSED — and cuts the
 * live connections; `enable()` binds again, on the same port when it was picked by the OS.
 *
 * Lifecycle operations (start, enable, disable, update, close) are serialised on one
 * promise chain, so concurrent API calls cannot interleave a bind with a close.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { SchedulerLike } from 'rxjs';
import { ListenFailedError, ToxicExistsError, ToxicNotFoundError } from '../errors.js';
import { boolean, custom, duration, func, integer, optional, parseOptions, shape, string } from '../options.js';
import { defaultScheduler, isScheduler } from '../scheduler.js';
import { ChaosConnection, type ConnectionHost } from './chaos-connection.js';
import { formatHostPort, parseHostPort, resolveListenHost, type HostPort } from './host-port.js';
import { patchToxic, parseToxicSpec, toxicJson, type ToxicEntry } from './toxic-spec.js';
import type { FrameInspector, ToxicJson, ToxicPatch, ToxicSpec, ToxicStream } from './toxic-types.js';
import { builtinToxics } from './toxics/index.js';
import { wireFrames } from './wire-frames.js';

export interface ChaosProxyOptions {
  /** Unique name (the key in Toxiproxy's API). */
  readonly name: string;
  /** `host:port` to listen on. Default `127.0.0.1:0` (an OS-picked port on loopback). */
  readonly listen?: string;
  /** `host:port` to forward to. */
  readonly upstream: string;
  /** Listen on `start()`. Default true. */
  readonly enabled?: boolean;
  /** Every toxic delay runs on it. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Uniform in [0, 1), for toxicity and jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** How `wire_*` toxics read frames. Default `wireFrames` (wirewarden's wire protocol). */
  readonly frames?: FrameInspector;
  /** Give up dialing the upstream after this long and close the client. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Per direction, pause reading above this many held bytes. Default 8 MiB. */
  readonly maxBufferedBytes?: number;
  /** A toxic threw (its connection is already closed). Default: a process warning. */
  readonly onToxicError?: (err: unknown, proxy: string) => void;
}

export interface ChaosProxyStats {
  /** Connections open now. */
  readonly connections: number;
  /** Connections accepted since creation. */
  readonly totalConnections: number;
  /** Bytes delivered to the upstream (after toxics). */
  readonly bytesUp: number;
  /** Bytes delivered to clients (after toxics). */
  readonly bytesDown: number;
}

/** A proxy as Toxiproxy's API shows it. */
export interface ProxyJson {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
  readonly toxics: ToxicJson[];
}

/** Fields `update` can change; a new listen or upstream drops the live connections. */
export interface ProxyUpdate {
  readonly listen?: string;
  readonly upstream?: string;
  readonly enabled?: boolean;
}

const isInspector = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as FrameInspector).classify === 'function';

const optionsSchema = shape({
  name: string({ nonEmpty: true }),
  listen: string({ default: '127.0.0.1:0' }),
  upstream: string({ nonEmpty: true }),
  enabled: boolean({ default: true }),
  scheduler: custom<SchedulerLike>('a SchedulerLike', isScheduler, { default: () => defaultScheduler }),
  random: func<() => number>({ default: () => Math.random }),
  frames: custom<FrameInspector>('a FrameInspector ({ classify, errorReply? })', isInspector, { default: () => wireFrames }),
  connectTimeoutMs: duration({ min: 1, default: 10_000 }),
  maxBufferedBytes: integer({ min: 1, default: 8 * 1024 * 1024 }),
  onToxicError: optional(func<(err: unknown, proxy: string) => void>()),
});

type ParsedOptions = ReturnType<typeof optionsSchema.check>;

/**
 * @example
 * const proxy = createChaosProxy({ name: 'redis', upstream: '127.0.0.1:6379' });
 * await proxy.start();
 * proxy.addToxic({ type: 'latency', attributes: { latency: 100, jitter: 10 } });
 * const client = net.connect(proxy.address!.port, '127.0.0.1');
 * // …
 * await proxy.close();
 */
export class ChaosProxy {
  readonly name: string;
  readonly #options: ParsedOptions;
  #listen: string;
  #listenAt: HostPort;
  #upstream: string;
  #upstreamAt: HostPort;
  #enabled: boolean;
  #server: Server | undefined;
  #address: { host: string; port: number } | undefined;
  #toxics: ToxicEntry[] = [];
  readonly #connections = new Set<ChaosConnection>();
  #totalConnections = 0;
  #bytesUp = 0;
  #bytesDown = 0;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #host: ConnectionHost;

  constructor(options: ChaosProxyOptions) {
    const o = parseOptions('chaosProxy', optionsSchema, options);
    this.#options = o;
    this.name = o.name;
    this.#listen = o.listen;
    this.#listenAt = parseHostPort(o.listen, 'chaosProxy.listen', { allowPortZero: true });
    this.#upstream = o.upstream;
    this.#upstreamAt = parseHostPort(o.upstream, 'chaosProxy.upstream', { allowPortZero: false });
    this.#enabled = o.enabled;
    const self = this;
    this.#host = {
      get upstream() {
        return self.#upstreamAt;
      },
      scheduler: o.scheduler,
      random: o.random,
      frames: o.frames,
      connectTimeoutMs: o.connectTimeoutMs,
      maxBufferedBytes: o.maxBufferedBytes,
      toxics: () => this.#toxics,
      countBytes: (stream, bytes) => {
        if (stream === 'upstream') this.#bytesUp += bytes;
        else this.#bytesDown += bytes;
      },
      toxicFailed: (err) => this.#toxicFailed(err),
    };
  }

  /** The listen address: as configured until bound, then the actual one (`127.0.0.1:41234`). */
  get listen(): string {
    return this.#listen;
  }

  get upstream(): string {
    return this.#upstream;
  }

  /** Whether the proxy is meant to accept connections (listening once started). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Where it listens, while it does. */
  get address(): { readonly host: string; readonly port: number } | undefined {
    return this.#address;
  }

  get stats(): ChaosProxyStats {
    return {
      connections: this.#connections.size,
      totalConnections: this.#totalConnections,
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
    };
  }

  /** Binds the listener if the proxy is enabled. Rejects with `ListenFailedError`. */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.#enabled) await this.#bindOrDisable();
    });
  }

  /** Starts accepting connections again. */
  enable(): Promise<void> {
    return this.update({ enabled: true });
  }

  /** Closes the listener (new clients are refused) and cuts every live connection. */
  disable(): Promise<void> {
    return this.update({ enabled: false });
  }

  /** Toxiproxy's proxy update: a new listen or upstream restarts the proxy. */
  update(patch: ProxyUpdate): Promise<void> {
    const p = parseOptions('proxy', updateSchema, patch);
    const listenAt = p.listen === undefined ? undefined : parseHostPort(p.listen, 'proxy.listen', { allowPortZero: true });
    const upstreamAt = p.upstream === undefined ? undefined : parseHostPort(p.upstream, 'proxy.upstream', { allowPortZero: false });
    return this.#serial(async () => {
      const moved = (p.listen !== undefined && p.listen !== this.#listen) || (p.upstream !== undefined && p.upstream !== this.#upstream);
      const enabled = p.enabled ?? this.#enabled;
      if (moved || !enabled) await this.#unbind();
      if (listenAt && p.listen !== this.#listen) {
        this.#listen = p.listen!;
        this.#listenAt = listenAt;
      }
      if (upstreamAt) {
        this.#upstream = p.upstream!;
        this.#upstreamAt = upstreamAt;
      }
      this.#enabled = enabled;
      if (enabled) await this.#bindOrDisable();
    });
  }

  /** Adds a toxic; live connections get it at once. Throws `ToxicExistsError`, `InvalidOptionError`. */
  addToxic(spec: ToxicSpec): ToxicJson {
    const entry = parseToxicSpec(spec, builtinToxics);
    if (this.#toxics.some((t) => t.name === entry.name)) {
      throw new ToxicExistsError(`toxic ${JSON.stringify(entry.name)} already exists on proxy ${JSON.stringify(this.name)}`);
    }
    this.#toxics = [...this.#toxics, entry];
    for (const conn of this.#connections) conn.attach(entry);
    return toxicJson(entry);
  }

  /** Merges attributes / replaces toxicity. Throws `ToxicNotFoundError`, `InvalidOptionError`. */
  updateToxic(name: string, patch: ToxicPatch): ToxicJson {
    const current = this.#find(name);
    const next = patchToxic(current, patch);
    this.#toxics = this.#toxics.map((t) => (t === current ? next : t));
    for (const conn of this.#connections) conn.update(next);
    return toxicJson(next);
  }

  /** Removes a toxic from the proxy and its live connections. Throws `ToxicNotFoundError`. */
  removeToxic(name: string): void {
    const entry = this.#find(name);
    this.#toxics = this.#toxics.filter((t) => t !== entry);
    for (const conn of this.#connections) conn.detach(entry);
  }

  /** Removes every toxic. */
  resetToxics(): void {
    for (const entry of [...this.#toxics]) this.removeToxic(entry.name);
  }

  /** One toxic, or undefined. */
  toxic(name: string): ToxicJson | undefined {
    const entry = this.#toxics.find((t) => t.name === name);
    return entry && toxicJson(entry);
  }

  /** Toxics as Toxiproxy lists them: upstream first, then downstream, each in order added. */
  toxics(): ToxicJson[] {
    const order: ToxicStream[] = ['upstream', 'downstream'];
    return order.flatMap((stream) => this.#toxics.filter((t) => t.stream === stream).map(toxicJson));
  }

  /** Closes every live connection now; returns how many were cut. */
  cutConnections(): number {
    const count = this.#connections.size;
    for (const conn of this.#connections) conn.destroy();
    return count;
  }

  /** Stops listening and waits until every socket of every connection is closed. */
  close(): Promise<void> {
    return this.#serial(async () => {
      this.#enabled = false;
      await this.#unbind();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  toJSON(): ProxyJson {
    return { name: this.name, listen: this.#listen, upstream: this.#upstream, enabled: this.#enabled, toxics: this.toxics() };
  }

  #find(name: string): ToxicEntry {
    const entry = this.#toxics.find((t) => t.name === name);
    if (!entry) throw new ToxicNotFoundError(`no toxic ${JSON.stringify(name)} on proxy ${JSON.stringify(this.name)}`);
    return entry;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** As Toxiproxy: a proxy that failed to start is not enabled. */
  async #bindOrDisable(): Promise<void> {
    try {
      await this.#bind();
    } catch (err) {
      this.#enabled = false;
      throw err;
    }
  }

  async #bind(): Promise<void> {
    if (this.#server) return;
    const { port } = this.#listenAt;
    let host: string;
    try {
      host = await resolveListenHost(this.#listenAt.host);
    } catch (err) {
      throw new ListenFailedError(`chaos proxy ${JSON.stringify(this.name)} cannot resolve listen host ${JSON.stringify(this.#listenAt.host)}`, { cause: err });
    }
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        reject(new ListenFailedError(`chaos proxy ${JSON.stringify(this.name)} cannot listen on ${formatHostPort(host, port)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    // After 'listening' an error can only come from accept; keep it from crashing the process.
    server.on('error', () => undefined);
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new ListenFailedError(`chaos proxy ${JSON.stringify(this.name)} has no TCP address`);
    this.#server = server;
    this.#address = { host: bound.address, port: bound.port };
    // Like Toxiproxy, report the address actually bound; re-enabling reuses the same port.
    this.#listen = formatHostPort(bound.address, bound.port);
    this.#listenAt = { host: bound.address, port: bound.port };
  }

  async #unbind(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#address = undefined;
    const closing = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const conns = [...this.#connections];
    this.cutConnections();
    await Promise.all([closing, ...conns.map((c) => c.closed)]);
  }

  #accept(socket: Socket): void {
    if (!this.#server) {
      socket.destroy();
      return;
    }
    this.#totalConnections += 1;
    const conn = new ChaosConnection(socket, this.#host);
    this.#connections.add(conn);
    void conn.closed.then(() => this.#connections.delete(conn));
    conn.start();
  }

  #toxicFailed(err: unknown): void {
    if (this.#options.onToxicError) {
      this.#options.onToxicError(err, this.name);
      return;
    }
    const text = err instanceof Error ? err.message : String(err);
    process.emitWarning(`chaos proxy ${JSON.stringify(this.name)}: a toxic threw, its connection was closed: ${text}`, 'WirewardenChaosWarning');
  }
}

const updateSchema = shape({
  listen: optional(string()),
  upstream: optional(string()),
  enabled: optional(boolean()),
});

/**
 * Creates a `ChaosProxy` (call `start()` to listen).
 *
 * @example
 * const proxy = createChaosProxy({ name: 'api', upstream: '127.0.0.1:7000' });
 * await proxy.start();
 */
export function createChaosProxy(options: ChaosProxyOptions): ChaosProxy {
  return new ChaosProxy(options);
}
