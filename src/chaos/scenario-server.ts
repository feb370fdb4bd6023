/**
 * `ctx.server`: the wire server under test, and the server half of the request ledger.
 *
 * It answers every request with its payload and records the request's `id` as executed
 * before replying, so a reply can never be acknowledged for a request the server did not
 * run. A restart builds a new `WireServer` on the same address (a closed one cannot
 * listen again), as a restarted process would; the ledger outlives it.
 *
 * Where it listens is the run mode's business (`ServerBinding`): a loopback port on real
 * sockets, an address of the simulated network otherwise. Kill, stop and freeze are
 * faults from the moment they happen until `start()` / `thaw()`.
 */
import { addAbortListener } from 'node:events';
import type { SchedulerLike } from 'rxjs';
import { ConnectionClosedError } from '../errors.js';
import { invalidDuration, isDurationMs } from '../options.js';
import type { WireRequestContext, WireServer, WireServerOptions } from '../transport/wire-server.js';
import type { RequestLedger } from './request-ledger.js';
import type { ScenarioRecorder } from './scenario-recorder.js';
import type { ScenarioServer } from './scenario-types.js';

/** How a run mode makes a wire server reachable. */
export interface ServerBinding {
  /** Where clients (or the proxy) reach it; fixed once the first `bind` resolved. */
  readonly address: string;
  create(options: WireServerOptions): WireServer;
  /** Starts accepting connections for `server`. */
  bind(server: WireServer): Promise<void>;
  /** Stops accepting new connections (live ones stay until the server closes them). */
  unbind(): void;
}

export interface ScenarioServerOptions {
  readonly binding: ServerBinding;
  readonly scheduler: SchedulerLike;
  readonly ledger: RequestLedger;
  readonly recorder: ScenarioRecorder;
  readonly stepOverride: () => boolean | undefined;
}

const classification = (override: boolean | undefined, reason: string) =>
  override === undefined ? { harmful: true, reason } : { harmful: override, reason: `classified ${override ? 'harmful' : 'benign'} by the scenario` };

/** @internal the runner's implementation of `ctx.server`, plus `close()` for teardown. */
export class ScenarioWireServer implements ScenarioServer {
  #responseDelayMs = 0;
  readonly #options: ScenarioServerOptions;
  #server: WireServer | undefined;
  #downFault: number | undefined;
  #frozenFault: number | undefined;

  constructor(options: ScenarioServerOptions) {
    this.#options = options;
  }

  get responseDelayMs(): number {
    return this.#responseDelayMs;
  }

  /** Checked when set: a delay a timer cannot wait would answer at once. */
  set responseDelayMs(ms: number) {
    if (!isDurationMs(ms)) throw invalidDuration('server.responseDelayMs', ms);
    this.#responseDelayMs = ms;
  }

  get address(): string {
    return this.#options.binding.address;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  get frozen(): boolean {
    return this.#server?.frozen ?? false;
  }

  get connections(): number {
    return this.#server?.connections ?? 0;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const { binding, scheduler } = this.#options;
    const server = binding.create({
      scheduler,
      handler: (payload, ctx) => this.#handle(payload, ctx),
      closeTimeoutMs: 1000,
    });
    this.#server = server;
    try {
      await binding.bind(server);
    } catch (err) {
      // Still down (e.g. the port was taken meanwhile): the fault goes on.
      this.#server = undefined;
      await server.close({ graceful: false });
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
    if (!this.#server || this.#server.frozen) return;
    this.#frozenFault = this.#options.recorder.startFault('server frozen', classification(this.#options.stepOverride(), 'stops reading and answering'));
    this.#server.freeze();
  }

  thaw(): void {
    if (!this.#server?.frozen) return;
    this.#server.thaw();
    this.#endFrozen();
  }

  /** Teardown: closes whatever runs, records nothing. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#options.binding.unbind();
    if (server) await server.close({ graceful: false });
  }

  async #shutDown(label: string, reason: string, graceful: boolean): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#downFault = this.#options.recorder.startFault(label, classification(this.#options.stepOverride(), reason));
    this.#endFrozen();
    this.#options.binding.unbind();
    await server.close({ graceful });
  }

  #endFrozen(): void {
    if (this.#frozenFault !== undefined) this.#options.recorder.endFault(this.#frozenFault);
    this.#frozenFault = undefined;
  }

  #handle(payload: unknown, ctx: WireRequestContext): unknown {
    const id = (payload as { id?: unknown } | null)?.id;
    if (typeof id === 'number') this.#options.ledger.execute(id);
    const delayMs = this.responseDelayMs;
    if (delayMs <= 0) return payload;
    return new Promise((resolve, reject) => {
      // The reply timer goes when the client does, so a killed server leaves none behind.
      const timer = this.#options.scheduler.schedule(() => {
        onAbort[Symbol.dispose]();
        resolve(payload);
      }, delayMs);
      const onAbort = addAbortListener(ctx.signal, () => {
        timer.unsubscribe();
        reject(new ConnectionClosedError(`client ${ctx.clientId} left before the reply`));
      });
    });
  }
}
