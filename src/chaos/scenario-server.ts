/**
 * `ctx.server`: the server under test, hosted in-process, and the server half of the
 * request ledger.
 *
 * What runs is the runner's wire server — answering every request with its payload, or
 * with the scenario's `target.handler` — or the scenario's own `target.server`. Either
 * way it records a request's `id` as executed before replying (the wire server by
 * itself, a user's server by calling `executed(id)`), so a reply can never be
 * acknowledged for a request the server did not run. A restart builds a new server on
 * the same address (a closed one cannot listen again), as a restarted process would;
 * the ledger outlives it.
 *
 * Where it listens is the run mode's business (`ServerBinding`): a loopback port on real
 * sockets, an address of the simulated network otherwise; either way each connection is
 * handed to the server's `accept(stream)`, and the host keeps the streams it handed over
 * so that a kill can drop them whatever the server is. Kill, stop and freeze are faults
 * from the moment they happen until `start()` / `thaw()`.
 *
 * A target running elsewhere (`target.endpoints`) has nothing to host: `ExternalServer`
 * says so in every control, and the scenario faults the link instead.
 */
import { addAbortListener } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import { ConnectionClosedError, InvalidOptionError } from '../errors.js';
import { invalidDuration, isDurationMs } from '../options.js';
import { describeEndpoint } from '../transport/dial-socket.js';
import type { Endpoint } from '../transport/types.js';
import { createWireServer } from '../transport/wire-server.js';
import type { WireRequestContext } from '../transport/wire-server-options.js';
import type { RequestLedger } from './request-ledger.js';
import type { ScenarioRecorder } from './scenario-recorder.js';
import type { ScenarioServer, ScenarioTarget, ScenarioTargetServer } from './scenario-types.js';

/** How a run mode makes the hosted server reachable. */
export interface ServerBinding {
  /** Where clients (or the proxy) reach it; fixed once the first `bind` resolved. */
  readonly address: string;
  /** Starts accepting connections; each goes to `accept`. */
  bind(accept: (stream: Duplex) => void): Promise<void>;
  /** Stops accepting new connections; resolves once the listener is gone (live streams are the host's). */
  unbind(): Promise<void>;
}

export interface ScenarioServerOptions {
  readonly binding: ServerBinding;
  readonly scheduler: SchedulerLike;
  readonly ledger: RequestLedger;
  readonly recorder: ScenarioRecorder;
  readonly stepOverride: () => boolean | undefined;
  readonly target: Pick<ScenarioTarget<unknown>, 'server' | 'handler'> | undefined;
}

const classification = (override: boolean | undefined, reason: string) =>
  override === undefined ? { harmful: true, reason } : { harmful: override, reason: `classified ${override ? 'harmful' : 'benign'} by the scenario` };

/** Bound on a graceful stop of a user's server before its streams are destroyed. */
const STOP_LIMIT_MS = 1000;

/** @internal the runner's implementation of `ctx.server`, plus `close()` for teardown. */
export class ScenarioServerHost implements ScenarioServer {
  readonly #options: ScenarioServerOptions;
  readonly #streams = new Set<Duplex>();
  #server: ScenarioTargetServer | undefined;
  #running = false;
  #paused = false;
  #delayMs = 0;
  #downFault: number | undefined;
  #frozenFault: number | undefined;

  constructor(options: ScenarioServerOptions) {
    this.#options = options;
    // The runner's wire server reports every execution; a user's server only if it calls executed().
    if (options.target?.server === undefined) options.ledger.observeExecutions();
  }

  get address(): string {
    return this.#options.binding.address;
  }

  get running(): boolean {
    return this.#running;
  }

  get frozen(): boolean {
    return this.#frozenFault !== undefined;
  }

  get connections(): number {
    return this.#streams.size;
  }

  /** Delay before each reply, on the scheduler (a slow server). The runner's wire server only. */
  get responseDelayMs(): number {
    return this.#delayMs;
  }

  /** Checked when set: a delay a timer cannot wait would answer at once. */
  set responseDelayMs(ms: number) {
    if (this.#options.target?.server !== undefined) {
      throw new InvalidOptionError('ctx.server.responseDelayMs needs the runner\'s wire server; with target.server, add a latency toxic to ctx.link');
    }
    if (!isDurationMs(ms)) throw invalidDuration('server.responseDelayMs', ms);
    this.#delayMs = ms;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const server = this.#create();
    this.#server = server;
    this.#running = true;
    try {
      await this.#options.binding.bind((stream) => this.#accept(stream));
    } catch (err) {
      // Still down (e.g. the port was taken meanwhile): the fault goes on.
      this.#running = false;
      this.#server = undefined;
      await server.close?.({ graceful: false });
      throw err;
    }
    if (this.#downFault !== undefined) this.#options.recorder.endFault(this.#downFault);
    this.#downFault = undefined;
  }

  async stop(): Promise<void> {
    await this.#shutDown('server stopped', 'refuses connections and closes the live ones', true);
  }

  async kill(): Promise<void> {
    await this.#shutDown('server killed', 'drops every connection and refuses new ones', false);
  }

  async restart(downMs = 0): Promise<void> {
    if (!isDurationMs(downMs)) throw invalidDuration('server.restart(downMs)', downMs);
    await this.kill();
    if (downMs > 0) await new Promise<void>((resolve) => this.#options.scheduler.schedule(() => resolve(), downMs));
    await this.start();
  }

  freeze(): void {
    if (!this.#running || this.frozen) return;
    this.#frozenFault = this.#options.recorder.startFault('server frozen', classification(this.#options.stepOverride(), 'stops reading and answering'));
    const server = this.#server!;
    if (server.freeze) {
      server.freeze();
    } else {
      this.#paused = true;
      for (const stream of this.#streams) stream.pause();
    }
  }

  thaw(): void {
    if (!this.frozen) return;
    const server = this.#server;
    if (server?.thaw) server.thaw();
    if (this.#paused) {
      this.#paused = false;
      for (const stream of this.#streams) stream.resume();
    }
    this.#endFrozen();
  }

  /** Teardown: closes whatever runs, records nothing. */
  async close(): Promise<void> {
    const server = this.#server;
    const wasRunning = this.#running;
    this.#server = undefined;
    this.#running = false;
    if (wasRunning) {
      const unbound = this.#options.binding.unbind();
      await server?.close?.({ graceful: false });
      this.#destroyStreams();
      await unbound;
    }
  }

  #create(): ScenarioTargetServer {
    const { target, scheduler, ledger } = this.#options;
    if (target?.server) return target.server({ scheduler, executed: (id) => ledger.execute(id) });
    const handler = target?.handler;
    return createWireServer({
      scheduler,
      handler: (payload, ctx) => this.#handle(payload, ctx, handler),
      closeTimeoutMs: 1000,
    });
  }

  #accept(stream: Duplex): void {
    const server = this.#server;
    if (!this.#running || !server) {
      stream.destroy();
      return;
    }
    this.#streams.add(stream);
    stream.once('close', () => this.#streams.delete(stream));
    server.accept(stream);
    if (this.#paused) stream.pause();
  }

  async #shutDown(label: string, reason: string, graceful: boolean): Promise<void> {
    const server = this.#server;
    if (!this.#running || !server) return;
    this.#running = false;
    this.#server = undefined;
    this.#downFault = this.#options.recorder.startFault(label, classification(this.#options.stepOverride(), reason));
    this.#endFrozen();
    this.#paused = false;
    const unbound = this.#options.binding.unbind();
    if (graceful) await this.#bounded(Promise.resolve(server.close?.({ graceful: true })));
    else await server.close?.({ graceful: false });
    this.#destroyStreams();
    await unbound;
  }

  /** Waits for `promise` at most STOP_LIMIT_MS of scenario time. */
  #bounded(promise: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#options.scheduler.schedule(() => resolve(), STOP_LIMIT_MS);
      void promise.then(() => undefined, () => undefined).then(() => {
        timer.unsubscribe();
        resolve();
      });
    });
  }

  #destroyStreams(): void {
    for (const stream of [...this.#streams]) stream.destroy();
    this.#streams.clear();
  }

  #endFrozen(): void {
    if (this.#frozenFault !== undefined) this.#options.recorder.endFault(this.#frozenFault);
    this.#frozenFault = undefined;
  }

  #handle(payload: unknown, ctx: WireRequestContext, handler: ScenarioTarget<unknown>['handler']): unknown {
    const id = (payload as { id?: unknown } | null)?.id;
    if (typeof id === 'number') this.#options.ledger.execute(id);
    const reply = handler === undefined ? payload : handler(payload, ctx);
    const delayMs = this.#delayMs;
    if (delayMs <= 0) return reply;
    return new Promise((resolve, reject) => {
      // The reply timer goes when the client does, so a killed server leaves none behind.
      const timer = this.#options.scheduler.schedule(() => {
        onAbort[Symbol.dispose]();
        resolve(reply);
      }, delayMs);
      const onAbort = addAbortListener(ctx.signal, () => {
        timer.unsubscribe();
        reject(new ConnectionClosedError(`client ${ctx.clientId} left before the reply`));
      });
    });
  }
}

/** @internal `ctx.server` for a target running elsewhere: nothing to host, every control explains why. */
export class ExternalServer implements ScenarioServer {
  readonly address: string;
  readonly running = true;
  readonly frozen = false;
  readonly connections = 0;

  constructor(endpoints: readonly Endpoint[]) {
    this.address = endpoints.map((e) => describeEndpoint(e)).join(', ');
  }

  get responseDelayMs(): number {
    return 0;
  }

  set responseDelayMs(_ms: number) {
    throw this.#refusal('responseDelayMs');
  }

  start(): Promise<void> {
    return Promise.reject(this.#refusal('start()'));
  }

  stop(): Promise<void> {
    return Promise.reject(this.#refusal('stop()'));
  }

  kill(): Promise<void> {
    return Promise.reject(this.#refusal('kill()'));
  }

  restart(): Promise<void> {
    return Promise.reject(this.#refusal('restart()'));
  }

  freeze(): void {
    throw this.#refusal('freeze()');
  }

  thaw(): void {
    throw this.#refusal('thaw()');
  }

  #refusal(what: string): Error {
    return new InvalidOptionError(
      `ctx.server.${what} controls an in-process server, but this scenario targets ${this.address} (target.endpoints): ` +
        'fault the link instead (ctx.link.disable() refuses and cuts, a timeout toxic blackholes, ctx.link.cut() drops connections)',
    );
  }
}
