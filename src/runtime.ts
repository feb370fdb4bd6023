/**
 * `createRuntime()`: one clock, one actor system, one supervision tree.
 *
 * The runtime owns the root supervisor (an XState actor with the runtime's scheduler as
 * its clock, so machines and RxJS timers share one timeline), binds the runtime services
 * and the event bus to its actor system, and is the root's only error observer: a root
 * without one would turn a failure into an uncaughtException.
 *
 * Top-level supervisors (`createSupervisor`) are `transient` children of the root, whose
 * restart intensity defaults to 0: a top-level supervisor that gives up fails the whole
 * runtime — `runtime-failed` on `events$` and a rejected `done` — like a permanent OTP
 * application. Raise `maxRestarts` to let the root restart them with backoff instead.
 *
 * Shutdown order: registered closeables (pools, subscribers) last-registered first, so leases drain
 * while their connections still run; then the root stops its children in reverse start
 * order, each within its `shutdownMs`; then `events$` completes. Nothing is left: no
 * actor, no scheduled action, no subscription.
 */
import { createActor, type AnyActorRef, type InspectionEvent, type Observer, type Subscription } from 'xstate';
import type { Observable } from 'rxjs';
import { RuntimeShutDownError, type RestartIntensityError } from './errors.js';
import { custom, duration, func, optional, parseOptions, shape } from './options.js';
import { clockFromScheduler, defaultScheduler, isScheduler, type SchedulerLike } from './scheduler.js';
import { bindServices, processLoadSource } from './services.js';
import { bindEventSink, EventBus, type RuntimeEvent } from './observe/events.js';
import { engineOf, supervisorLogic, type SupervisorChildOptions } from './supervisor/supervisor-logic.js';
import { createSupervisorHandle, type SupervisorHandle } from './supervisor/supervisor-handle.js';
import { parseChildSpec, parseSupervisorSpec, type SupervisorSpec } from './supervisor/supervisor-spec.js';
import type { SupervisorOutput, SupervisorRef, SupervisorSnapshot } from './supervisor/supervisor-types.js';
import { createSupervisedPool, type CreatePoolOptions } from './pool/create-pool.js';
import { Pool } from './pool/pool.js';
import type { Dashboard, DashboardOptions } from './observe/dashboard-server.js';
import type { InspectorRelay } from './observe/inspector-relay.js';
import type { ServeInspectorOptions } from './observe/inspector-relay-runtime.js';
import { createSupervisedSubscriber } from './pubsub/create-subscriber.js';
import type { Subscriber } from './pubsub/subscriber.js';
import type { CreateSubscriberOptions } from './pubsub/subscriber-options.js';
import { createFramingPool, framingPoolSchema, type FramingPool, type FramingPoolOptions } from './transport/framing-pool.js';

export interface RuntimeOptions {
  /** Every timer, timeout and backoff delay runs here. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Stately inspector observer, attached to the whole actor system. Default none. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Uniform in [0, 1) for jitter; inject a seeded one to replay a run. Default `Math.random`. */
  readonly random?: () => number;
  /** Event-loop utilisation gauge in [0, 1]. Default: this process's ELU. */
  readonly loadSource?: () => number;
  /** How many top-level supervisor failures the root restarts within `withinMs`. Default 0. */
  readonly maxRestarts?: number;
  /** The root's intensity window. Default 60000. */
  readonly withinMs?: number;
  /**
   * Gives the runtime a framing pool (`rt.framing`) for `wire({ framing: rt.framing })`
   * and `createWireServer({ framing: rt.framing })`; closed by `shutdown()` after
   * everything else. Its threads start at the first offloaded frame. Default none.
   */
  readonly framing?: FramingPoolOptions;
}

export type RuntimeState = 'running' | 'stopping' | 'stopped' | 'failed';

/** Anything the runtime must close before it stops the supervision tree (a pool, a subscriber). */
export interface Closeable {
  close(): Promise<void> | void;
}

export interface Runtime extends AsyncDisposable {
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  /** State changes, restarts, exits, escalations, shutdown, failure. Completes after either end. */
  readonly events$: Observable<RuntimeEvent>;
  /** The root supervisor actor. */
  readonly root: SupervisorRef;
  /** The framing pool configured with `createRuntime({ framing })`, or undefined. */
  readonly framing: FramingPool | undefined;
  readonly state: RuntimeState;
  /** Resolves after `shutdown()`; rejects with the root's `RestartIntensityError` if it failed. */
  readonly done: Promise<void>;
  /** Starts a top-level supervisor (a child of the root) and returns its handle. */
  createSupervisor(spec: SupervisorSpec, options?: SupervisorChildOptions): SupervisorHandle;
  /**
   * Creates a connection pool whose connections are children of its own supervisor
   * (`root/<id>`); closed first by `shutdown()`. Options: docs/pool.md.
   *
   * @example
   * const pool = rt.createPool({ endpoints: [{ host: '127.0.0.1', port: 7000 }], protocol: wire(), min: 2, max: 10 });
   * await pool.use((conn) => conn.request({ op: 'ping' }));
   */
  createPool<S>(options: CreatePoolOptions<S>): Pool<S>;
  /**
   * Creates a Redis pub/sub subscriber whose one connection is a child of its own
   * supervisor (`root/<id>/conn`): the channels and patterns are subscribed again on
   * every new connection; `status$` reports each `gap`. Closed by `shutdown()` with the
   * pools. Options: docs/pubsub.md.
   *
   * @example
   * const sub = rt.createSubscriber({ endpoint: { host: '127.0.0.1', port: 6379 }, protocol: resp({ password }) });
   * sub.messages$.subscribe((m) => console.log(m.channel, m.message));
   * await sub.subscribe('news');
   */
  createSubscriber(options: CreateSubscriberOptions): Subscriber;
  /** @internal Same as `createSupervisor`, for layers built on the runtime (the pool, the subscriber). */
  spawnSupervisor(spec: SupervisorSpec, options?: SupervisorChildOptions): SupervisorHandle;
  /** @internal Closed (last registered first) before the tree stops. Returns an unregister function. */
  register(closeable: Closeable): () => void;
  /** @internal The pools made by `createPool` that are still open, oldest first (the dashboard reads their gauges). */
  pools(): Pool<unknown>[];
  /**
   * Serves the live dashboard (supervision tree by state, RTT per connection, restarts,
   * pool gauges, event log) on 127.0.0.1 unless `host` names another address; read-only,
   * closed by `shutdown()`. Options and walkthrough: docs/observability.md.
   *
   * @example
   * const dashboard = await rt.serveDashboard({ port: 8475 });
   * console.log(`open ${dashboard.url}`);
   */
  serveDashboard(options?: DashboardOptions): Promise<Dashboard>;
  /**
   * Serves a relay for Stately's inspector (`@statelyai/inspect`'s WebSocket protocol) on
   * 127.0.0.1 unless `host` names another address, fed by this runtime: open `url` in a
   * browser to watch the supervision tree live. Inspection is attached only while a client
   * is connected; closed by `shutdown()`. Needs the `ws` package. docs/observability.md.
   *
   * @example
   * const relay = await rt.serveInspector({ port: 8080 });
   * console.log(`open ${relay.url}`);
   */
  serveInspector(options?: ServeInspectorOptions): Promise<InspectorRelay>;
  /**
   * Attaches an inspection observer now (only while needed: inspection costs CPU per
   * event). Actors that already exist are announced to it first, parents before children.
   */
  inspect(observer: Observer<InspectionEvent> | ((event: InspectionEvent) => void)): Subscription;
  /** Stops everything in order; resolves when nothing is left. Idempotent. */
  shutdown(): Promise<void>;
}

const runtimeSchema = shape({
  scheduler: optional(custom<SchedulerLike>('a SchedulerLike (schedule and now)', isScheduler)),
  inspect: optional(custom<RuntimeOptions['inspect']>('an inspection observer or function', (v) => typeof v === 'function' || (typeof v === 'object' && v !== null))),
  random: optional(func<() => number>()),
  loadSource: optional(func<() => number>()),
  maxRestarts: optional(custom<number>('an integer >= 0 or Infinity', (v) => v === Number.POSITIVE_INFINITY || (typeof v === 'number' && Number.isInteger(v) && v >= 0))),
  withinMs: optional(duration({ min: 1 })),
  framing: optional(framingPoolSchema),
});

class WirewardenRuntime implements Runtime {
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly events$: Observable<RuntimeEvent>;
  readonly root: SupervisorRef;
  readonly done: Promise<void>;
  readonly framing: FramingPool | undefined;
  readonly #bus = new EventBus();
  readonly #rootHandle: SupervisorHandle;
  readonly #rootSub: Subscription;
  readonly #inspections = new Set<Subscription>();
  readonly #closeables = new Set<Closeable>();
  readonly #rootEnded: Promise<void>;
  #endRoot!: () => void;
  #resolveDone!: () => void;
  #rejectDone!: (err: unknown) => void;
  #state: RuntimeState = 'running';
  #rootState: string;
  #shutdownPromise: Promise<void> | undefined;

  constructor(options?: RuntimeOptions) {
    const o = parseOptions('runtime', runtimeSchema, options);
    this.scheduler = o.scheduler ?? defaultScheduler;
    this.random = o.random ?? Math.random;
    this.framing = o.framing === undefined ? undefined : createFramingPool(o.framing);
    this.events$ = this.#bus.events$;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Whoever awaits `done` still sees the rejection; nobody awaiting it is not an unhandledRejection.
    this.done.catch(() => {});
    this.#rootEnded = new Promise<void>((resolve) => (this.#endRoot = resolve));

    const spec = parseSupervisorSpec('runtime', { id: 'root', maxRestarts: o.maxRestarts ?? 0, withinMs: o.withinMs });
    const root = createActor(supervisorLogic, {
      id: 'root',
      input: spec,
      clock: clockFromScheduler(this.scheduler),
      ...(o.inspect ? { inspect: o.inspect } : {}),
    });
    this.root = root;
    bindServices(root.system, { scheduler: this.scheduler, random: this.random, loadSource: o.loadSource ?? processLoadSource() });
    bindEventSink(root.system, this.#bus);
    this.#rootState = root.getSnapshot().value;
    this.#rootSub = root.subscribe({
      next: (snapshot) => this.#onRootSnapshot(snapshot),
      error: (err) => this.#onRootEnd(undefined, err),
      complete: () => this.#onRootEnd(root.getSnapshot().output, undefined),
    });
    this.#rootHandle = createSupervisorHandle('root', 'root', () => root);
    root.start();
  }

  get state(): RuntimeState {
    return this.#state;
  }

  createSupervisor(spec: SupervisorSpec, options?: SupervisorChildOptions): SupervisorHandle {
    return this.spawnSupervisor(spec, options);
  }

  createPool<S>(options: CreatePoolOptions<S>): Pool<S> {
    return createSupervisedPool(this, options);
  }

  createSubscriber(options: CreateSubscriberOptions): Subscriber {
    return createSupervisedSubscriber(this, options);
  }

  spawnSupervisor(spec: SupervisorSpec, options?: SupervisorChildOptions): SupervisorHandle {
    const resolved = parseSupervisorSpec('supervisor', spec);
    const child = parseChildSpec('createSupervisor', { restart: 'transient', ...options, id: resolved.id, logic: supervisorLogic, input: resolved });
    if (this.#state !== 'running') throw new RuntimeShutDownError(`runtime is ${this.#state}; cannot start supervisor ${JSON.stringify(resolved.id)}`);
    this.#rootHandle.startChild(child);
    return this.#rootHandle.supervisor(resolved.id);
  }

  register(closeable: Closeable): () => void {
    if (this.#state !== 'running') throw new RuntimeShutDownError(`runtime is ${this.#state}; cannot register`);
    this.#closeables.add(closeable);
    return () => void this.#closeables.delete(closeable);
  }

  pools(): Pool<unknown>[] {
    return [...this.#closeables].filter((c): c is Pool<unknown> => c instanceof Pool);
  }

  async serveDashboard(options?: DashboardOptions): Promise<Dashboard> {
    // Loaded on first use: a runtime that never serves a page never loads node:http or the page.
    const { serveDashboard } = await import('./observe/dashboard-server.js');
    return serveDashboard(this, () => this.pools(), options);
  }

  async serveInspector(options?: ServeInspectorOptions): Promise<InspectorRelay> {
    const { serveInspector } = await import('./observe/inspector-relay-runtime.js');
    return serveInspector(this, options);
  }

  inspect(observer: Observer<InspectionEvent> | ((event: InspectionEvent) => void)): Subscription {
    const next = typeof observer === 'function' ? observer : (e: InspectionEvent) => observer.next?.(e);
    announce(this.root, this.root.sessionId, next);
    const sub = this.root.system.inspect(observer);
    this.#inspections.add(sub);
    return { unsubscribe: () => (this.#inspections.delete(sub), sub.unsubscribe()) };
  }

  shutdown(): Promise<void> {
    this.#shutdownPromise ??= this.#shutdown();
    return this.#shutdownPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #shutdown(): Promise<void> {
    let firstError: unknown;
    if (this.#state === 'running') {
      this.#state = 'stopping';
      // No await before CLOSE when nothing is registered: a virtual-time test can flush right after shutdown().
      if (this.#closeables.size > 0) firstError = await this.#closeRegistered();
      this.root.send({ type: 'CLOSE' });
    }
    await this.#rootEnded;
    // Last: connections decoding on it are gone by now. No thread is left after this.
    if (this.framing) await this.framing.close();
    if (firstError !== undefined) throw firstError;
  }

  /** Closes registered closeables, last first; returns the first error (the others are dropped). */
  async #closeRegistered(): Promise<unknown> {
    let firstError: unknown;
    const closeables = [...this.#closeables].reverse();
    this.#closeables.clear();
    for (const c of closeables) {
      try {
        await c.close();
      } catch (err) {
        firstError ??= err;
      }
    }
    return firstError;
  }

  #onRootSnapshot(snapshot: SupervisorSnapshot): void {
    const to = snapshot.value;
    if (to === this.#rootState) return;
    const from = this.#rootState;
    this.#rootState = to;
    if (this.#bus.active) this.#bus.emit({ type: 'state', id: 'root', path: 'root', from, to, at: this.scheduler.now() });
  }

  /** The root ended: normally after `CLOSE`, or by failing (restart intensity, or a bug). */
  #onRootEnd(output: SupervisorOutput | undefined, error: unknown): void {
    if (this.#state === 'stopped' || this.#state === 'failed') return;
    const failure: unknown = error ?? (output?.reason === 'restart-intensity' ? (output.error as RestartIntensityError) : undefined);
    this.#rootSub?.unsubscribe();
    for (const sub of this.#inspections) sub.unsubscribe();
    this.#inspections.clear();
    if (failure === undefined) {
      this.#state = 'stopped';
      this.#bus.emit({ type: 'shutdown', at: this.scheduler.now() });
      this.#bus.complete();
      this.#resolveDone();
      this.#endRoot();
      return;
    }
    this.#state = 'failed';
    this.#bus.emit({ type: 'runtime-failed', error: failure, at: this.scheduler.now() });
    this.#rejectDone(failure);
    // Pools and other closeables still hold timers: close them, then end the stream.
    void this.#closeRegistered().then(() => {
      this.#bus.complete();
      this.#endRoot();
    });
  }
}

/** Replays `@xstate.actor` for a live subtree: supervisors' children, and machines' spawned/invoked actors. */
function announce(ref: AnyActorRef, rootId: string, next: (e: InspectionEvent) => void): void {
  if (ref.getSnapshot()?.status !== 'active') return;
  next({ type: '@xstate.actor', actorRef: ref, rootId });
  const engine = engineOf(ref);
  const children = engine
    ? engine.childRefs()
    : Object.values(((ref.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children ?? {}));
  for (const child of children) if (child) announce(child, rootId, next);
}

/**
 * Creates a runtime: the root of a supervision tree, its clock and its event stream.
 *
 * @example
 * const rt = createRuntime();
 * const edge = rt.createSupervisor({
 *   id: 'edge', strategy: 'one-for-one', maxRestarts: 10, withinMs: 60_000,
 *   children: [{ id: 'a', logic: someMachine, restart: 'permanent', backoff: exponentialBackoff() }],
 * });
 * rt.events$.subscribe((e) => console.log(e.type, 'path' in e ? e.path : ''));
 * rt.done.catch((err) => console.error('runtime failed', err));
 * await rt.shutdown();
 */
export function createRuntime(options?: RuntimeOptions): Runtime {
  return new WirewardenRuntime(options);
}
