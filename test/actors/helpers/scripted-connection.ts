/**
 * A connection whose every outside step the test performs by hand, in virtual time, so
 * that any sequence of model events can be produced for real — by the transport, the
 * protocol, the peer and the clock — on `connectionMachine` and on the interpreted
 * `connectionModel` alike:
 *
 *   ww.dial.done / ww.dial.failed      resolve / reject the pending dial (or connect)
 *   ww.connect.done                    resolve the pending connect (connect mode)
 *   ww.handshake.done / .failed        resolve / reject the pending open
 *   ww.stream.closed                   the peer ends the stream (connect mode: lost())
 *   ww.heartbeat.idle, ww.probe.failed run the clock until the state changes
 *   ww.probe.ok / ww.probe.alive       answer the pending probe / the peer sends a byte
 *   ww.request.timedout                the session reports a request timeout
 *   ww.close.done                      resolve the pending close
 *   CLOSE, KILL                        sent to the actor
 *
 * Every pending operation rejects (or, for close, resolves) when its signal aborts, as a
 * real transport and protocol do.
 */
import type { Duplex } from 'node:stream';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor, type AnyActorLogic, type AnyActorRef, type InspectionEvent } from 'xstate';
import { connectionState } from '../../../src/actors/live-connection.js';
import type { ConnectionEvent } from '../../../src/actors/connection-events.js';
import type { HeartbeatInput } from '../../../src/actors/connection-types.js';
import { AbortedError, DialRefusedError, HandshakeFailedError } from '../../../src/errors.js';
import type { ConnectContext, ProtocolContext } from '../../../src/transport/types.js';
import { duplexPair } from './duplex-pair.js';
import { advanceTo, settle } from './virtual-connection.js';

interface Pending<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  settled: boolean;
}

function pending<T>(signal?: AbortSignal, onAbort: 'reject' | 'resolve' = 'reject'): Pending<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  const p: Pending<T> = {
    promise,
    settled: false,
    resolve(v) {
      if (p.settled) return;
      p.settled = true;
      signal?.removeEventListener('abort', abort);
      resolve(v);
    },
    reject(e) {
      if (p.settled) return;
      p.settled = true;
      signal?.removeEventListener('abort', abort);
      reject(e);
    },
  };
  const abort = (): void => (onAbort === 'reject' ? p.reject(signal!.reason ?? new AbortedError('aborted')) : p.resolve(undefined as T));
  signal?.addEventListener('abort', abort, { once: true });
  return p;
}

function last<T>(list: Pending<T>[], what: string): Pending<T> {
  const p = list.at(-1);
  if (p === undefined || p.settled) throw new Error(`no pending ${what}`);
  return p;
}

export type ScriptMode = 'stream' | 'connect';

export class ScriptedConnection {
  readonly vts = new VirtualTimeScheduler();
  readonly actor: AnyActorRef;
  readonly dials: Pending<Duplex>[] = [];
  readonly opens: Pending<object>[] = [];
  readonly connects: Pending<object>[] = [];
  readonly probes: Pending<void>[] = [];
  readonly closes: Pending<void>[] = [];
  readonly errors: unknown[] = [];
  server: Duplex | undefined;
  ctx: ProtocolContext | ConnectContext | undefined;
  /** The peer ended the stream, or the client called `lost()` (once only). */
  ended = false;

  /** Every event the actor received, by type, in order (XState's inspection). */
  readonly received: string[] = [];

  constructor(logic: AnyActorLogic, readonly mode: ScriptMode, heartbeat: HeartbeatInput) {
    const stream = {
      name: 'scripted',
      open: (s: Duplex, ctx: ProtocolContext) => {
        this.ctx = ctx;
        s.on('data', () => ctx.markAlive());
        const p = pending<object>(ctx.signal);
        this.opens.push(p);
        return p.promise;
      },
    };
    const connect = {
      name: 'scripted',
      connect: (ctx: ConnectContext) => {
        this.ctx = ctx;
        const p = pending<object>(ctx.signal);
        this.connects.push(p);
        return p.promise;
      },
    };
    const common = {
      probe: (_s: unknown, signal: AbortSignal) => {
        const p = pending<void>(signal);
        this.probes.push(p);
        return p.promise;
      },
      close: (_s: unknown, signal?: AbortSignal) => {
        const p = pending<void>(signal, 'resolve');
        this.closes.push(p);
        return p.promise;
      },
    };
    const transport = {
      kind: 'scripted',
      dial: (_e: unknown, options: { signal?: AbortSignal }) => {
        const p = pending<Duplex>(options.signal);
        this.dials.push(p);
        return p.promise;
      },
    };
    this.actor = createActor(logic, {
      input: {
        endpoint: { host: '127.0.0.1', port: 7000 },
        protocol: mode === 'stream' ? { ...stream, ...common } : { ...connect, ...common },
        ...(mode === 'stream' ? { transport } : {}),
        scheduler: this.vts,
        random: () => 0.5,
        loadSource: () => 0,
        heartbeat,
      },
      inspect: (e: InspectionEvent) => {
        if (e.type === '@xstate.event' && e.actorRef === this.actor && e.event.type !== 'xstate.init') this.received.push(e.event.type);
      },
    } as never);
    this.actor.subscribe({ error: (e: unknown) => this.errors.push(e) });
    this.actor.start();
  }

  /** The actor's state as a machine path: `dialing.connecting`, `ready`, … */
  path(): string {
    const value = (this.actor.getSnapshot() as { value: unknown }).value;
    return typeof value === 'string' ? value : `dialing.${(value as { dialing: string }).dialing}`;
  }

  state(): string {
    return connectionState(this.actor.getSnapshot() as never);
  }

  /**
   * Whether `event` can be produced now by the outside world (a pending step to settle, a
   * stream to end, a session to time out…). The clock-driven events (`ww.heartbeat.idle`,
   * `ww.probe.failed`) are never "producible" here: random runs advance the clock instead.
   */
  canProduce(event: ConnectionEvent): boolean {
    const open = (list: Pending<unknown>[]): boolean => list.at(-1)?.settled === false;
    switch (event.type) {
      case 'CLOSE':
      case 'KILL':
        return (this.actor.getSnapshot() as { status: string }).status === 'active';
      case 'ww.dial.done':
        return this.mode === 'stream' && open(this.dials as Pending<unknown>[]);
      case 'ww.dial.failed':
        return open((this.mode === 'stream' ? this.dials : this.connects) as Pending<unknown>[]);
      case 'ww.connect.done':
        return open(this.connects as Pending<unknown>[]);
      case 'ww.handshake.done':
      case 'ww.handshake.failed':
        return open(this.opens as Pending<unknown>[]);
      case 'ww.stream.closed':
        return !this.ended && (this.mode === 'stream' ? this.server !== undefined : this.ctx !== undefined);
      case 'ww.probe.ok':
        return open(this.probes as Pending<unknown>[]);
      case 'ww.probe.alive':
        return !this.ended && (this.mode === 'stream' ? this.server !== undefined : this.ctx !== undefined);
      case 'ww.request.timedout':
        return this.ctx !== undefined;
      case 'ww.close.done':
        return open(this.closes as Pending<unknown>[]);
      default:
        return false;
    }
  }

  /** Produces `event` the way it happens for real (see the module doc), then lets it settle. */
  async produce(event: ConnectionEvent): Promise<void> {
    await settle();
    switch (event.type) {
      case 'CLOSE':
      case 'KILL':
        this.actor.send(event);
        break;
      case 'ww.dial.done': {
        const [client, server] = duplexPair();
        this.server = server;
        last(this.dials, 'dial').resolve(client);
        break;
      }
      case 'ww.dial.failed':
        if (this.mode === 'stream') last(this.dials, 'dial').reject(new DialRefusedError('refused by the script'));
        else last(this.connects, 'connect').reject(Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }));
        break;
      case 'ww.connect.done':
        last(this.connects, 'connect').resolve({ client: true });
        break;
      case 'ww.handshake.done':
        last(this.opens, 'open').resolve({ session: true });
        break;
      case 'ww.handshake.failed':
        last(this.opens, 'open').reject(new HandshakeFailedError('rejected by the script'));
        break;
      case 'ww.stream.closed':
        this.ended = true;
        if (this.mode === 'stream') this.server!.end();
        else (this.ctx as ConnectContext).lost();
        break;
      case 'ww.heartbeat.idle':
      case 'ww.probe.failed':
        await this.runUntilChange();
        break;
      case 'ww.request.timedout':
        this.ctx!.requestTimedOut!();
        break;
      case 'ww.probe.ok':
        last(this.probes, 'probe').resolve();
        break;
      case 'ww.probe.alive':
        if (this.mode === 'stream') this.server!.write('x');
        else this.ctx!.markAlive();
        break;
      case 'ww.close.done':
        last(this.closes, 'close').resolve();
        break;
    }
    await settle();
  }

  /** Runs the clock, one due action at a time, until the state changes. */
  async runUntilChange(limitMs = 1_000_000): Promise<void> {
    const from = this.actor.getSnapshot();
    while (this.actor.getSnapshot() === from) {
      const next = this.vts.actions[0];
      if (next === undefined || next.delay > limitMs) throw new Error(`nothing changed (in ${this.path()} at ${this.vts.frame})`);
      await advanceTo(this.vts, next.delay);
    }
  }

  /** Advances the clock by `ms`, running what falls due. */
  advanceBy(ms: number): Promise<void> {
    return advanceTo(this.vts, this.vts.frame + ms);
  }
}
