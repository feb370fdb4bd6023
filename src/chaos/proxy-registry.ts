/**
 * The set of named proxies behind the Toxiproxy API (Toxiproxy's ProxyCollection):
 * create, look up, remove, populate, reset, close.
 *
 * `populate` is all-or-nothing, like Toxiproxy's current one: every entry is validated
 * before anything changes, and a name given twice in one call is refused (Toxiproxy:
 * "duplicate proxy name"); an entry whose `listen` and `upstream` match an existing proxy
 * leaves it untouched (toxics and connections included); any other existing proxy of
 * that name is replaced. If a listener cannot be bound, the proxies started by this call
 * are closed and the replaced ones are restored.
 *
 * Invariant: every proxy this registry starts is in the map, so `close()` stops it. Changes
 * (create, remove, populate, reset, close) therefore run one at a time: two overlapping
 * populates of one name would each start a listener and register only one of them — an
 * orphan that keeps accepting after `close()` and keeps the process alive. For the same
 * reason `close()` is final: a change asked for after it is refused with
 * `ProxyRegistryClosedError` (nothing would ever close what it started); changes asked
 * for before it still run first, and their proxies are closed with the rest.
 */
import { InvalidOptionError, ProxyExistsError, ProxyNotFoundError, ProxyRegistryClosedError } from '../errors.js';
import { ChaosProxy, type ChaosProxyOptions } from './chaos-proxy.js';

/** What creating a proxy takes (Toxiproxy's proxy fields). */
export interface ProxyInput {
  readonly name: string;
  /** Default `127.0.0.1:0`. */
  readonly listen?: string;
  readonly upstream: string;
  /** Default true. */
  readonly enabled?: boolean;
}

/** Settings every proxy of the registry shares. */
export type ProxyDefaults = Omit<ChaosProxyOptions, 'name' | 'listen' | 'upstream' | 'enabled'>;

/**
 * @example
 * const registry = new ProxyRegistry();
 * const redis = await registry.create({ name: 'redis', upstream: '127.0.0.1:6379' });
 * await registry.close();
 */
export class ProxyRegistry {
  readonly #defaults: ProxyDefaults;
  readonly #proxies = new Map<string, ChaosProxy>();
  /** The listen address each proxy was asked for (its `listen` shows the bound one). */
  readonly #requestedListen = new Map<ChaosProxy, string>();
  /** The change running now; the next one starts after it settles. */
  #changes: Promise<unknown> = Promise.resolve();
  /** Set by the first `close()`; every later change is refused. */
  #closing: Promise<void> | undefined;

  constructor(defaults: ProxyDefaults = {}) {
    this.#defaults = defaults;
  }

  /** Proxies by name, in creation order. */
  list(): ChaosProxy[] {
    return [...this.#proxies.values()];
  }

  /** Throws `ProxyNotFoundError`. */
  get(name: string): ChaosProxy {
    const proxy = this.#proxies.get(name);
    if (!proxy) throw new ProxyNotFoundError(`no proxy ${JSON.stringify(name)}`);
    return proxy;
  }

  /** True once `close()` was called: changes are refused from then on. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Creates and (if enabled) starts a proxy. Throws `ProxyExistsError`, `InvalidOptionError`,
   * `ListenFailedError`, `ProxyRegistryClosedError`.
   */
  create(input: ProxyInput): Promise<ChaosProxy> {
    return this.#change(`create proxy ${JSON.stringify(input.name)}`, async () => {
      if (this.#proxies.has(input.name)) throw new ProxyExistsError(`proxy ${JSON.stringify(input.name)} already exists`);
      const proxy = this.#build(input);
      await proxy.start();
      this.#proxies.set(proxy.name, proxy);
      this.#requestedListen.set(proxy, input.listen ?? proxy.listen);
      return proxy;
    });
  }

  /** Closes and forgets a proxy. Throws `ProxyNotFoundError`, `ProxyRegistryClosedError`. */
  remove(name: string): Promise<void> {
    return this.#change(`remove proxy ${JSON.stringify(name)}`, async () => {
      const proxy = this.get(name);
      this.#proxies.delete(name);
      this.#requestedListen.delete(proxy);
      await proxy.close();
    });
  }

  /**
   * Creates or replaces proxies in bulk (see the module comment); returns them in input
   * order. Throws `InvalidOptionError` for a name given twice, `ListenFailedError`,
   * `ProxyRegistryClosedError`.
   */
  populate(inputs: readonly ProxyInput[]): Promise<ChaosProxy[]> {
    return this.#change(`populate ${inputs.length} ${inputs.length === 1 ? 'proxy' : 'proxies'}`, () => this.#populate(inputs));
  }

  async #populate(inputs: readonly ProxyInput[]): Promise<ChaosProxy[]> {
    const firstAt = new Map<string, number>();
    inputs.forEach((input, i) => {
      const first = firstAt.get(input.name);
      if (first !== undefined) {
        throw new InvalidOptionError(`duplicate proxy name ${JSON.stringify(input.name)} at proxy ${i + 1} (first at proxy ${first + 1})`);
      }
      firstAt.set(input.name, i);
    });
    const plan = inputs.map((input) => {
      const existing = this.#proxies.get(input.name);
      const keep = existing !== undefined && this.#matches(existing, input);
      return { input, existing, keep, proxy: keep ? existing : this.#build(input) };
    });
    const started: ChaosProxy[] = [];
    const stopped: ChaosProxy[] = [];
    try {
      for (const item of plan) {
        if (item.keep) continue;
        if (item.existing?.enabled) {
          // The old proxy may hold the very port the new one wants.
          await item.existing.close();
          stopped.push(item.existing);
        }
        await item.proxy.start();
        started.push(item.proxy);
      }
    } catch (err) {
      await Promise.all(started.map((p) => p.close()));
      for (const p of stopped) await p.enable().catch(() => undefined);
      throw err;
    }
    for (const item of plan) {
      if (item.keep) continue;
      if (item.existing && !item.existing.enabled) await item.existing.close();
      this.#proxies.set(item.input.name, item.proxy);
      this.#requestedListen.delete(item.existing!);
      this.#requestedListen.set(item.proxy, item.input.listen ?? item.proxy.listen);
    }
    return plan.map((item) => item.proxy);
  }

  /** Toxiproxy's reset: every proxy enabled again, every toxic removed. Throws `ProxyRegistryClosedError`. */
  reset(): Promise<void> {
    return this.#change('reset', async () => {
      for (const proxy of this.#proxies.values()) {
        if (!proxy.enabled) await proxy.enable();
        proxy.resetToxics();
      }
    });
  }

  /**
   * Closes every proxy, after the changes already asked for (a populate still binding
   * registers its proxies first, so they are closed too); the registry is empty afterwards
   * and refuses every later change. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#enqueue(async () => {
      const proxies = this.list();
      this.#proxies.clear();
      this.#requestedListen.clear();
      await Promise.all(proxies.map((p) => p.close()));
    });
    return this.#closing;
  }

  /** Queues a change, or refuses it once `close()` was called (`what` names it in the error). */
  #change<T>(what: string, change: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) {
      return Promise.reject(new ProxyRegistryClosedError(`cannot ${what}: the proxy registry is closed`));
    }
    return this.#enqueue(change);
  }

  /** Runs `change` after every change asked for before it (see the module comment). */
  #enqueue<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#changes.then(change);
    this.#changes = run.catch(() => undefined);
    return run;
  }

  #build(input: ProxyInput): ChaosProxy {
    return new ChaosProxy({ ...this.#defaults, name: input.name, listen: input.listen, upstream: input.upstream, enabled: input.enabled });
  }

  #matches(existing: ChaosProxy, input: ProxyInput): boolean {
    const listen = input.listen ?? '127.0.0.1:0';
    return existing.upstream === input.upstream && (existing.listen === listen || this.#requestedListen.get(existing) === listen);
  }
}
