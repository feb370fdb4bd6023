/**
 * `createSimulatedNetwork()`: an in-memory network on a (virtual) scheduler, so that a
 * chaos scenario runs deterministically from a seed and far faster than real time.
 *
 *   transport.dial(10.0.0.1:7000) ──▶ listener? ──▶ SimulatedConnection ──▶ onConnection(server end)
 *                                      │ none, or link disabled: DialRefusedError
 *                                      └ link(10.0.0.1:7000): toxics on every connection
 *
 * - `transport` is a wirewarden `Transport`: give it to a pool or a connection actor in
 *   place of `tcp()`. A dial connects after `connectDelayMs` (on the scheduler), is
 *   refused when nothing listens or the address's link is disabled, fails with
 *   `DialTimeoutError` after `connectTimeoutMs`, and honours its `AbortSignal`.
 * - Bytes go through the chaos proxy's own `ToxicPipeline` and toxics, per direction,
 *   on the network's scheduler and `random`: a scenario's faults mean the same thing on
 *   real sockets and here.
 * - Every delay is a scheduler action and every random draw comes from `random`, so with
 *   a virtual clock (`SimulatedScheduler`) and a seeded generator two runs are identical. Node's
 *   streams still deliver through `process.nextTick`, so whoever drives virtual time must
 *   let the event loop turn between steps (`await new Promise(setImmediate)`).
 *
 * Not modelled: kernel buffers and back-pressure (writes complete at once), SYN floods,
 * partial connects. Freezing a process is the server's business (`WireServer.freeze`).
 */
import { addAbortListener } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import { AbortedError, DialRefusedError, DialTimeoutError, ListenFailedError } from '../errors.js';
import { custom, duration, func, invalidDuration, isDurationMs, optional, parseOptions, shape } from '../options.js';
import { isScheduler } from '../scheduler.js';
import type { DialOptions, Endpoint, Transport } from '../transport/types.js';
import type { ChaosLink } from './chaos-link.js';
import { formatHostPort, parseHostPort } from './host-port.js';
import { SimulatedConnection } from './simulated-connection.js';
import { SimulatedLink } from './simulated-link.js';
import type { FrameInspector } from './toxic-types.js';
import { wireFrames } from './wire-frames.js';

export interface SimulatedNetworkOptions {
  /** Runs every toxic delay, connect delay and connect timeout. Usually a `SimulatedScheduler`. */
  readonly scheduler: SchedulerLike;
  /** Uniform in [0, 1), for toxicity rolls and jitter; pass a seeded one to replay. Default `Math.random`. */
  readonly random?: () => number;
  /** How `wire_*` toxics read frames. Default `wireFrames`. */
  readonly frames?: FrameInspector;
  /** Time from dial to established (or refused). Default 0. */
  readonly connectDelayMs?: number;
  /** A toxic threw (its connection is already closed). Default: a process warning. */
  readonly onToxicError?: (err: unknown, link: string) => void;
}

/** A listening address; closing it refuses new dials and leaves live connections alone. */
export interface SimulatedListener {
  readonly address: string;
  close(): void;
}

const isInspector = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as FrameInspector).classify === 'function';

const optionsSchema = shape({
  scheduler: custom<SchedulerLike>('a SchedulerLike', isScheduler),
  random: func<() => number>({ default: () => Math.random }),
  frames: custom<FrameInspector>('a FrameInspector ({ classify, errorReply? })', isInspector, { default: () => wireFrames }),
  connectDelayMs: duration({ min: 0, default: 0 }),
  onToxicError: optional(func<(err: unknown, link: string) => void>()),
});

type ParsedOptions = ReturnType<typeof optionsSchema.check>;

/** Ephemeral ports handed to simulated clients, as a kernel would. */
const CLIENT_HOST = '10.255.0.1';
const FIRST_CLIENT_PORT = 40_000;

/**
 * @example
 * const scheduler = new SimulatedScheduler();
 * const net = createSimulatedNetwork({ scheduler, random: seededRandom(7) });
 * const server = createWireServer({ scheduler, handler: (req) => req });
 * net.listen('10.0.0.1:7000', (stream) => server.accept(stream));
 * const pool = rt.createPool({ endpoints: [{ host: '10.0.0.1', port: 7000 }], protocol: wire(), transport: net.transport });
 * net.link('10.0.0.1:7000').addToxic({ type: 'latency', attributes: { latency: 50 } });
 */
export class SimulatedNetwork {
  readonly transport: Transport;
  readonly #options: ParsedOptions;
  readonly #listeners = new Map<string, (stream: Duplex) => void>();
  readonly #links = new Map<string, SimulatedLink>();
  readonly #connections = new Map<string, Set<SimulatedConnection>>();
  #nextClientPort = FIRST_CLIENT_PORT;

  constructor(options: SimulatedNetworkOptions) {
    this.#options = parseOptions('simulatedNetwork', optionsSchema, options);
    this.transport = Object.freeze({ kind: 'simulated', dial: (endpoint: Endpoint, dialOptions: DialOptions) => this.#dial(endpoint, dialOptions) });
  }

  get scheduler(): SchedulerLike {
    return this.#options.scheduler;
  }

  /** Live connections, across addresses. */
  get connections(): number {
    let n = 0;
    for (const set of this.#connections.values()) n += set.size;
    return n;
  }

  /** Addresses listening now. */
  listening(): string[] {
    return [...this.#listeners.keys()];
  }

  /**
   * Accepts connections to `address` (`host:port`), handing each server end to
   * `onConnection` (e.g. `(stream) => wireServer.accept(stream)`). Throws
   * `ListenFailedError` if something already listens there.
   */
  listen(address: string, onConnection: (stream: Duplex) => void): SimulatedListener {
    const key = keyOf(address, 'simulatedNetwork.listen');
    if (this.#listeners.has(key)) throw new ListenFailedError(`simulated network: ${key} is already in use (EADDRINUSE)`);
    this.#listeners.set(key, onConnection);
    let open = true;
    return {
      address: key,
      close: () => {
        if (open && this.#listeners.get(key) === onConnection) this.#listeners.delete(key);
        open = false;
      },
    };
  }

  /** The faults on the path to `address` (created on first use; kept across listeners). */
  link(address: string): ChaosLink {
    return this.#link(keyOf(address, 'simulatedNetwork.link'));
  }

  #link(key: string): SimulatedLink {
    let link = this.#links.get(key);
    if (!link) {
      link = new SimulatedLink(key, { connections: () => this.#connections.get(key) ?? [] });
      this.#links.set(key, link);
    }
    return link;
  }

  /** Destroys every connection and closes every listener: nothing is left. */
  close(): void {
    this.#listeners.clear();
    for (const set of [...this.#connections.values()]) for (const conn of [...set]) conn.destroy();
  }

  #dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex> {
    let key: string;
    try {
      key = keyOf(formatHostPort(endpoint?.host ?? '127.0.0.1', endpoint?.port as number), 'endpoint');
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const { connectTimeoutMs, signal } = options;
    if (!isDurationMs(connectTimeoutMs, 1)) return Promise.reject(invalidDuration('dial.connectTimeoutMs', connectTimeoutMs, 1));
    if (signal?.aborted) return Promise.reject(new AbortedError(`dial simulated ${key} aborted`, { cause: signal.reason }));
    const { scheduler, connectDelayMs } = this.#options;
    return new Promise<Duplex>((resolve, reject) => {
      let done = false;
      let connectTimer: Subscription | undefined;
      let timeoutTimer: Subscription | undefined;
      let abort: Disposable | undefined;
      const settle = (fn: () => void): void => {
        if (done) return;
        done = true;
        connectTimer?.unsubscribe();
        timeoutTimer?.unsubscribe();
        abort?.[Symbol.dispose]();
        fn();
      };
      connectTimer = scheduler.schedule(() => settle(() => {
        const accept = this.#listeners.get(key);
        if (!accept || this.#links.get(key)?.enabled === false) {
          reject(new DialRefusedError(`dial simulated ${key} refused (ECONNREFUSED)`));
          return;
        }
        resolve(this.#connect(key, accept));
      }), connectDelayMs);
      timeoutTimer = scheduler.schedule(
        () => settle(() => reject(new DialTimeoutError(`dial simulated ${key} timed out after ${connectTimeoutMs} ms`))),
        connectTimeoutMs,
      );
      if (signal) abort = addAbortListener(signal, () => settle(() => reject(new AbortedError(`dial simulated ${key} aborted`, { cause: signal.reason }))));
    });
  }

  #connect(key: string, accept: (stream: Duplex) => void): Duplex {
    const link = this.#link(key);
    let set = this.#connections.get(key);
    if (!set) this.#connections.set(key, (set = new Set()));
    const live = set;
    const server = parseHostPort(key, 'address', { allowPortZero: false });
    const conn = new SimulatedConnection(
      { client: { host: CLIENT_HOST, port: this.#nextClientPort++ }, server },
      {
        scheduler: this.#options.scheduler,
        random: this.#options.random,
        frames: this.#options.frames,
        toxics: () => link.entries(),
        toxicFailed: (err) => this.#toxicFailed(err, key),
        closed: (c) => live.delete(c),
      },
    );
    live.add(conn);
    try {
      accept(conn.server);
    } catch (err) {
      // A server that throws while accepting drops the connection, as a crashing accept would.
      conn.destroy();
      this.#toxicFailed(err, key);
    }
    return conn.client;
  }

  #toxicFailed(err: unknown, link: string): void {
    if (this.#options.onToxicError) {
      this.#options.onToxicError(err, link);
      return;
    }
    const text = err instanceof Error ? err.message : String(err);
    process.emitWarning(`simulated network ${JSON.stringify(link)}: ${text}`, 'WirewardenChaosWarning');
  }
}

function keyOf(address: string, path: string): string {
  const { host, port } = parseHostPort(address, path, { allowPortZero: false });
  return formatHostPort(host === '' ? '127.0.0.1' : host, port);
}

/**
 * Creates an in-memory network whose connections run the chaos toxics on `scheduler`.
 *
 * @example
 * const net = createSimulatedNetwork({ scheduler: new SimulatedScheduler(), random: seededRandom(1) });
 */
export function createSimulatedNetwork(options: SimulatedNetworkOptions): SimulatedNetwork {
  return new SimulatedNetwork(options);
}
