/**
 * `createFramingPool()`: a Piscina pool that decodes and encodes self-contained msgpack
 * (the `inner` of PACKED wire messages) on worker threads.
 *
 *   decode(inner) ──copy into an owned ArrayBuffer──▶ worker: unpack, cut big arrays ──▶ rebuilt here in ~4 ms steps
 *   encode(value) ──v8.serialize (owned buffer)────▶ worker: deserialize, pack ──────────▶ bytes (transferred)
 *
 * Trade-offs (numbers: bench/framing.ts, docs/benchmarks.md):
 * - A worker cannot hand the main thread an object: the main thread always rebuilds the
 *   decoded value. So decode offload does not save the main thread CPU; it saves it the
 *   long stall: the value comes back as msgpack slices rebuilt between event-loop turns
 *   (framing-slices.ts), at about an inline decode's CPU, plus a copy and ~60–150 µs of
 *   task overhead. Worth it only for frames whose inline decode would stall the loop for
 *   longer than a time budget; `offloadThresholdBytes` is that size.
 * - Encode offload cannot even save the stall: the value must be snapshotted on the main
 *   thread before it crosses, and V8's serializer costs more than msgpackr's encoder
 *   (bench: slower, and longer stalls, at every size). `encode` exists for symmetry and
 *   for values that serialize cheaply; the wire protocol encodes PACKED inners inline.
 * - Buffers cross by transfer, never by copy, and only buffers we own outright: an inbound
 *   `inner` is a view into a socket chunk, so it is copied once into a fresh ArrayBuffer
 *   (a memcpy, far cheaper than decoding it) and that one is transferred.
 * - The Piscina pool (and so every thread) is created at the first task, and with the
 *   default `minThreads: 0` threads end after `idleTimeoutMs` idle. Piscina unrefs idle
 *   threads, so an open pool never keeps the process alive; `close()` terminates them all
 *   and resolves once every thread exited.
 * - Errors are rebuilt from their `code` (framing-worker.ts): a malformed `inner` rejects
 *   with `ProtocolError`, so the caller kills that one connection. A task pending when
 *   the pool closes rejects with `PoolClosedError`; any other worker failure (a crash, a
 *   resource limit) is reported as a `ProtocolError` against the frame, with the cause.
 * - Options are validated once, here; the frozen result is `pool.options`.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import { Piscina } from 'piscina';
import { errorFromCode, InvalidOptionError, PoolClosedError, ProtocolError, type WirewardenError } from '../errors.js';
import { duration, integer, parseOptions, shape } from '../options.js';
import { assembleSlices, type SlicedValue } from './framing-slices.js';
import type { SerializedFramingError } from './framing-worker.js';

/** Defaults of `createFramingPool`. */
export const FRAMING_POOL_DEFAULTS = Object.freeze({
  minThreads: 0,
  /** One core stays for the event loop. */
  maxThreads: Math.max(1, availableParallelism() - 1),
  idleTimeoutMs: 30_000,
  /**
   * 4 MiB: the measured crossover (docs/benchmarks.md, "Framing offload"). Below it, an
   * inline decode stalls the event loop less than the offloaded one's rebuild and GC do.
   */
  offloadThresholdBytes: 4 * 1024 * 1024,
});

/** @internal the options' schema (also embedded in `createRuntime`'s). */
export const framingPoolSchema = shape({
  minThreads: integer({ min: 0, max: 1024, default: FRAMING_POOL_DEFAULTS.minThreads }),
  maxThreads: integer({ min: 1, max: 1024, default: FRAMING_POOL_DEFAULTS.maxThreads }),
  idleTimeoutMs: duration({ min: 0, default: FRAMING_POOL_DEFAULTS.idleTimeoutMs }),
  offloadThresholdBytes: integer({ min: 0, max: 0xffffffff, default: FRAMING_POOL_DEFAULTS.offloadThresholdBytes }),
});

export interface FramingPoolOptions {
  /** Threads kept even when idle. Default 0: a pool that is not used holds no thread. */
  readonly minThreads?: number;
  /** Most threads at once. Default `max(1, availableParallelism() - 1)`. */
  readonly maxThreads?: number;
  /** An idle thread above `minThreads` ends after this long. Default 30000. */
  readonly idleTimeoutMs?: number;
  /** Payloads of at least this many bytes go to a worker (`shouldOffload`). Default 4194304 (4 MiB). */
  readonly offloadThresholdBytes?: number;
}

export type ResolvedFramingPoolOptions = Readonly<Required<FramingPoolOptions>>;

/** Decodes and encodes self-contained msgpack on worker threads. */
export interface FramingPool extends AsyncDisposable {
  readonly options: ResolvedFramingPoolOptions;
  readonly offloadThresholdBytes: number;
  /** Live worker threads (0 before the first task, after idling out, and after `close`). */
  readonly threads: number;
  /** Tasks submitted and not yet settled. */
  readonly pending: number;
  readonly closed: boolean;
  /** Whether a payload of `bytes` should go to a worker (open pool, `bytes >= offloadThresholdBytes`). */
  shouldOffload(bytes: number): boolean;
  /**
   * Decodes one self-contained msgpack value. `bytes` is copied, never detached. Rejects
   * with `ProtocolError` (malformed input) or `PoolClosedError`.
   */
  decode(bytes: Uint8Array): Promise<unknown>;
  /**
   * Encodes `value` as self-contained msgpack. The value is snapshotted (V8-serialized)
   * before this returns, so it may be mutated afterwards; it must be structured-cloneable
   * (class instances lose their prototype, and with it any `toJSON`). Rejects with
   * `ProtocolError` (not encodable) or `PoolClosedError`.
   */
  encode(value: unknown): Promise<Buffer>;
  /** Terminates every thread; pending tasks reject with `PoolClosedError`. Idempotent. */
  close(): Promise<void>;
}

/** Whether `value` is a framing pool (for option validation: `wire({ framing })`). */
export function isFramingPool(value: unknown): value is FramingPool {
  return value instanceof PiscinaFramingPool;
}

/**
 * Creates a framing pool. Threads start at the first task.
 *
 * @example
 * const framing = createFramingPool({ maxThreads: 2, offloadThresholdBytes: 1 << 20 });
 * const bytes = await framing.encode({ rows });          // self-contained msgpack
 * const value = await framing.decode(bytes);             // equal to { rows }
 * await framing.close();                                 // no thread left
 */
export function createFramingPool(options?: FramingPoolOptions): FramingPool {
  const resolved = parseOptions('framing', framingPoolSchema, options);
  if (resolved.minThreads > resolved.maxThreads) {
    throw new InvalidOptionError(
      `framing.minThreads must be <= framing.maxThreads (${resolved.maxThreads}), got ${resolved.minThreads}`,
    );
  }
  return new PiscinaFramingPool(resolved);
}

class PiscinaFramingPool implements FramingPool {
  readonly options: ResolvedFramingPoolOptions;
  readonly offloadThresholdBytes: number;
  #piscina: Piscina | undefined;
  #pending = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedFramingPoolOptions) {
    this.options = options;
    this.offloadThresholdBytes = options.offloadThresholdBytes;
  }

  get threads(): number {
    return this.#piscina?.threads.length ?? 0;
  }

  get pending(): number {
    return this.#pending;
  }

  get closed(): boolean {
    return this.#closed;
  }

  shouldOffload(bytes: number): boolean {
    return !this.#closed && bytes >= this.offloadThresholdBytes;
  }

  decode(bytes: Uint8Array): Promise<unknown> {
    if (this.#closed) return Promise.reject(closedError('decode'));
    const owned = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(owned).set(bytes);
    return this.#run('decode', owned, owned).then((result) => assembleSlices(result as SlicedValue));
  }

  encode(value: unknown): Promise<Buffer> {
    if (this.#closed) return Promise.reject(closedError('encode'));
    let bytes: Buffer;
    try {
      bytes = serialize(value);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      return Promise.reject(new ProtocolError(`payload cannot be encoded as msgpack: ${text.slice(0, 120)}`, { cause: err }));
    }
    const buffer = ownedBuffer(bytes);
    return this.#run('encode', buffer, buffer).then((result) => {
      const view = result as Uint8Array;
      return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    });
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    const piscina = this.#piscina;
    this.#piscina = undefined;
    this.#closing = piscina ? piscina.destroy() : Promise.resolve();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #run(name: 'decode' | 'encode', task: unknown, transfer: ArrayBuffer): Promise<unknown> {
    const piscina = (this.#piscina ??= this.#start());
    this.#pending++;
    return piscina.run(task, { name, transferList: [transfer] }).then(
      (result: unknown) => {
        this.#pending--;
        return result;
      },
      (reason: unknown) => {
        this.#pending--;
        throw this.#rebuild(reason, name);
      },
    );
  }

  #rebuild(reason: unknown, task: string): WirewardenError {
    if (isSerializedError(reason)) {
      const cause = reason.cause ? Object.assign(new Error(reason.cause.message), { name: reason.cause.name }) : undefined;
      return errorFromCode(reason.code, reason.message, cause ? { cause } : undefined);
    }
    if (this.#closed) return new PoolClosedError(`framing pool closed while a ${task} task was pending`, { cause: reason });
    const text = reason instanceof Error ? reason.message : String(reason);
    return new ProtocolError(`framing worker failed to ${task}: ${text.slice(0, 160)}`, { cause: reason });
  }

  #start(): Piscina {
    const { filename, execArgv } = workerEntry();
    const piscina = new Piscina({
      filename,
      // Piscina preloads `filename` with this name at thread start; with the default
      // ('default', which this module does not export) the preload falls through to an
      // ESM import that tsx's loader does not catch in a worker, and the task hangs.
      name: 'decode',
      ...(execArgv ? { execArgv } : {}),
      minThreads: this.options.minThreads,
      maxThreads: this.options.maxThreads,
      idleTimeout: this.options.idleTimeoutMs,
    });
    // Piscina emits 'error' for a worker that fails with no task in flight; an
    // EventEmitter without a listener would turn that into an uncaughtException.
    piscina.on('error', (err: unknown) => {
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WirewardenFramingWorkerWarning');
    });
    return piscina;
  }
}

function closedError(task: string): PoolClosedError {
  return new PoolClosedError(`cannot ${task}: the framing pool is closed`);
}

function isSerializedError(v: unknown): v is SerializedFramingError {
  return typeof v === 'object' && v !== null && !(v instanceof Error)
    && typeof (v as SerializedFramingError).code === 'string' && typeof (v as SerializedFramingError).message === 'string';
}

function ownedBuffer(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/**
 * The worker module next to this one, `.ts` when this file runs as TypeScript (tsx,
 * vitest) and `.js` once compiled. Node 20 cannot load a `.ts` worker by itself, and a
 * Piscina worker under vitest runs plain Node, so a `.ts` worker is given tsx's loader,
 * resolved from here so that it does not depend on the process's working directory.
 * (Passing `execArgv` replaces the inherited flags; only then.)
 */
function workerEntry(): { filename: string; execArgv: string[] | undefined } {
  const ts = import.meta.url.endsWith('.ts');
  const filename = new URL(`./framing-worker${ts ? '.ts' : '.js'}`, import.meta.url).href;
  if (!ts) return { filename, execArgv: undefined };
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { filename, execArgv: ['--import', loader] };
}
