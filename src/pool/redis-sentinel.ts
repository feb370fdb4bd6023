/**
 * `redisSentinel({ sentinels, name })`: an endpoint provider that follows a Redis master
 * through Sentinel failovers, by the Sentinel client spec (redis.io):
 *
 * 1. ask the sentinels in order, each within `sentinelTimeoutMs`; the first that answers
 *    moves to the front (so a dead sentinel costs one timeout once, not every round);
 * 2. `SENTINEL get-master-addr-by-name <name>` gives `[ip, port]`; null → the next one;
 * 3. connect to that address and check `ROLE`: a master that is not yet promoted (or a
 *    demoted one the sentinel has not caught up with) is retried after `roleRetryMs`.
 *
 * It re-resolves on `+switch-master` (subscribed on the sentinel that answered; only a
 * hint, the answer still comes from step 2–3), on the pool's hints (a `READONLY` reply:
 * a write reached a demoted master; every dial failing), and every `pollIntervalMs`.
 * A round that finds no master is reported as a `DiscoveryError` (the last known master
 * stays in use) and retried with a growing delay (100 ms doubling, up to the poll interval);
 * the pool's hints wait for that delay, `+switch-master` does not (the failover is over).
 *
 * Passwords go to the RESP handshake only (resp-handshake.ts holds them); errors name
 * sentinels by address, never a credential.
 */
import type { Duplex } from 'node:stream';
import { Observable, type Subscription } from 'rxjs';
import { addAbortListener } from 'node:events';
import { DiscoveryError, InvalidOptionError } from '../errors.js';
import {
  arrayOf, duration, integer, optional, parseOptions, secret, shape, string, custom as customChecker, type Infer,
} from '../options.js';
import { describeEndpoint } from '../transport/dial-socket.js';
import { resp } from '../transport/resp.js';
import type { RespSession } from '../transport/resp-session.js';
import { tcp } from '../transport/tcp.js';
import type { Endpoint, Protocol, Transport } from '../transport/types.js';
import type { DiscoveryContext, EndpointProvider } from './endpoint-provider.js';

export const REDIS_SENTINEL_DEFAULTS = Object.freeze({
  sentinelPort: 26379,
  sentinelTimeoutMs: 500,
  pollIntervalMs: 5000,
  roleRetryMs: 250,
});

const FIRST_RETRY_MS = 100;

const sentinelSchema = shape({
  host: string({ nonEmpty: true }),
  port: integer({ min: 1, max: 65_535, default: REDIS_SENTINEL_DEFAULTS.sentinelPort }),
});

const schema = shape({
  sentinels: arrayOf(sentinelSchema, { minLength: 1 }),
  name: string({ nonEmpty: true }),
  sentinelUsername: optional(string({ nonEmpty: true })),
  sentinelPassword: optional(secret(string({ nonEmpty: true }))),
  username: optional(string({ nonEmpty: true })),
  password: optional(secret(string({ nonEmpty: true }))),
  sentinelTimeoutMs: duration({ min: 1, default: REDIS_SENTINEL_DEFAULTS.sentinelTimeoutMs }),
  pollIntervalMs: duration({ min: 1, default: REDIS_SENTINEL_DEFAULTS.pollIntervalMs }),
  roleRetryMs: duration({ min: 1, default: REDIS_SENTINEL_DEFAULTS.roleRetryMs }),
  transport: optional(customChecker<Transport>('a transport (tcp(), tls(…))', (v) => typeof (v as Transport | null)?.dial === 'function')),
});

export interface RedisSentinelOptions {
  /** Where the sentinels listen (`port` defaults to 26379). At least one. */
  readonly sentinels: readonly { readonly host: string; readonly port?: number }[];
  /** The master's name in `sentinel monitor <name> …`. */
  readonly name: string;
  /** ACL user and password of the sentinels (`requirepass` in sentinel.conf). */
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  /** The data nodes' credentials, for the `ROLE` check (the same as your `resp()` protocol's). */
  readonly username?: string;
  readonly password?: string;
  /** Bound on connecting to and asking one sentinel (or the master, for ROLE). Default 500. */
  readonly sentinelTimeoutMs?: number;
  /** Re-resolve this often even without a hint. Default 5000. */
  readonly pollIntervalMs?: number;
  /** Wait before asking again when the named master does not say `ROLE` master yet. Default 250. */
  readonly roleRetryMs?: number;
  /** How to reach sentinels and nodes. Default `tcp()`. */
  readonly transport?: Transport;
}

type Options = Infer<typeof schema>;
type SentinelAddress = Infer<typeof sentinelSchema>;

/**
 * An endpoint provider for a pool's `endpoints`: one endpoint, the current master.
 *
 * @example
 * const pool = rt.createPool({
 *   endpoints: redisSentinel({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' }),
 *   protocol: resp(),
 * });
 */
export function redisSentinel(options: RedisSentinelOptions): EndpointProvider {
  const o = parseOptions('redisSentinel', schema, options);
  if (o.sentinelUsername !== undefined && o.sentinelPassword === undefined) {
    throw new InvalidOptionError('redisSentinel.sentinelUsername requires redisSentinel.sentinelPassword (AUTH needs both)');
  }
  if (o.username !== undefined && o.password === undefined) {
    throw new InvalidOptionError('redisSentinel.username requires redisSentinel.password (AUTH needs both)');
  }
  const sentinelProtocol = resp({ username: o.sentinelUsername, password: o.sentinelPassword, requestTimeoutMs: o.sentinelTimeoutMs });
  const nodeProtocol = resp({ username: o.username, password: o.password, requestTimeoutMs: o.sentinelTimeoutMs });
  return Object.freeze({
    kind: 'redis-sentinel',
    watch: (ctx: DiscoveryContext) => new Observable<readonly Endpoint[]>((subscriber) => {
      const watch = new SentinelWatch(o, sentinelProtocol, nodeProtocol, ctx, (e) => subscriber.next([e]));
      return () => watch.stop();
    }),
  });
}

/** The outcome of one round. */
type Round = { readonly master: Endpoint } | { readonly retryMs: number; readonly error?: Error };

/** One watch of one pool: its own sentinel order, timers, sockets. */
class SentinelWatch {
  readonly #o: Options;
  readonly #sentinelProtocol: Protocol<RespSession>;
  readonly #nodeProtocol: Protocol<RespSession>;
  readonly #ctx: DiscoveryContext;
  readonly #emit: (master: Endpoint) => void;
  readonly #transport: Transport;
  readonly #order: SentinelAddress[];
  readonly #abort = new AbortController();
  readonly #hints: Subscription;
  #current: string | undefined;
  #running = false;
  #again = false;
  #failures = 0;
  /** Scheduler time before which no round starts (see `#round`). */
  #notBefore = Number.NEGATIVE_INFINITY;
  #timer: Subscription | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** When the next `+switch-master` subscription may be tried (after one failed). */
  #switchRetryAt = Number.NEGATIVE_INFINITY;
  /** The session subscribed to `+switch-master`, and the sentinel it is on. */
  #switchWatch: RespSession | undefined;
  /** A `+switch-master` for our master arrived: the next round ignores the failure backoff. */
  #switchSeen = false;

  constructor(o: Options, sentinelProtocol: Protocol<RespSession>, nodeProtocol: Protocol<RespSession>, ctx: DiscoveryContext, emit: (master: Endpoint) => void) {
    this.#o = o;
    this.#sentinelProtocol = sentinelProtocol;
    this.#nodeProtocol = nodeProtocol;
    this.#ctx = ctx;
    this.#emit = emit;
    this.#transport = o.transport ?? tcp();
    this.#order = [...o.sentinels];
    this.#hints = ctx.refresh$.subscribe(() => this.#round());
    this.#round();
  }

  stop(): void {
    this.#abort.abort();
    this.#hints.unsubscribe();
    this.#disarm();
    const watch = this.#switchWatch;
    this.#switchWatch = undefined;
    watch?.destroy();
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * Starts a round now, or as soon as allowed: rounds never overlap, a hint during a round
   * asks for one more afterwards, and no round starts before `#notBefore` — the failure
   * backoff after a failed round, and `roleRetryMs` after any round — so a burst of hints
   * (READONLY replies, failing dials during an outage) cannot turn into a connection storm
   * against the sentinels.
   */
  #round(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#switchSeen) {
      // The failover is done: the backoff that paced rounds while the old master was down
      // no longer applies. A sentinel says this once per failover: no storm to fear.
      this.#switchSeen = false;
      this.#failures = 0;
      this.#notBefore = Number.NEGATIVE_INFINITY;
    }
    const waitMs = this.#notBefore - this.#ctx.scheduler.now();
    if (waitMs > 0) {
      // Too early: make sure a round is due then (the poll timer may be later).
      if (this.#timerAt > this.#notBefore) this.#arm(waitMs);
      return;
    }
    this.#running = true;
    this.#disarm();
    this.#notBefore = this.#ctx.scheduler.now() + this.#o.roleRetryMs;
    this.#resolve().then((r) => this.#settle(r), (err: unknown) => this.#settle({ retryMs: FIRST_RETRY_MS, error: err as Error }));
  }

  #settle(r: Round): void {
    this.#running = false;
    if (this.#stopped) return;
    let nextMs = this.#o.pollIntervalMs;
    if ('master' in r) {
      this.#failures = 0;
      const key = describeEndpoint(r.master);
      if (key !== this.#current) {
        this.#current = key;
        this.#emit(r.master);
      }
    } else {
      this.#failures++;
      if (r.error !== undefined) this.#ctx.report(r.error);
      nextMs = Math.min(this.#o.pollIntervalMs, Math.max(r.retryMs, FIRST_RETRY_MS * 2 ** Math.min(this.#failures - 1, 16)));
      this.#notBefore = Math.max(this.#notBefore, this.#ctx.scheduler.now() + nextMs);
    }
    this.#arm(nextMs);
    if (this.#again) {
      this.#again = false;
      this.#round();
    }
  }

  #arm(ms: number): void {
    this.#disarm();
    this.#timerAt = this.#ctx.scheduler.now() + ms;
    this.#timer = this.#ctx.scheduler.schedule(() => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#round();
    }, ms);
  }

  #disarm(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  async #resolve(): Promise<Round> {
    const failures: string[] = [];
    let sawNull = false;
    for (const sentinel of [...this.#order]) {
      if (this.#stopped) return { retryMs: 0 };
      let reply: unknown;
      try {
        reply = await this.#ask(this.#sentinelProtocol, sentinel, ['SENTINEL', 'get-master-addr-by-name', this.#o.name]);
      } catch (err) {
        failures.push(`${describeEndpoint(sentinel)}: ${(err as Error).message}`);
        continue;
      }
      if (this.#stopped) return { retryMs: 0 };
      if (reply === null || (Array.isArray(reply) && reply.length === 0)) {
        sawNull = true;
        failures.push(`${describeEndpoint(sentinel)}: no master named ${JSON.stringify(this.#o.name)}`);
        continue;
      }
      const master = masterAddress(reply);
      if (master === undefined) {
        failures.push(`${describeEndpoint(sentinel)}: unexpected reply to get-master-addr-by-name`);
        continue;
      }
      this.#moveToFront(sentinel);
      this.#ensureSwitchWatch(sentinel);
      let role: unknown;
      try {
        role = await this.#ask(this.#nodeProtocol, master, ['ROLE']);
      } catch (err) {
        return {
          retryMs: this.#o.roleRetryMs,
          error: new DiscoveryError(`redisSentinel: master ${describeEndpoint(master)} named by ${describeEndpoint(sentinel)} does not answer ROLE`, { cause: err }),
        };
      }
      if (this.#stopped) return { retryMs: 0 };
      if (Array.isArray(role) && role[0] === 'master') return { master };
      return {
        retryMs: this.#o.roleRetryMs,
        error: new DiscoveryError(`redisSentinel: ${describeEndpoint(master)} named by ${describeEndpoint(sentinel)} is not a master yet (ROLE ${String(Array.isArray(role) ? role[0] : role)})`),
      };
    }
    const what = sawNull ? `no sentinel knows a master named ${JSON.stringify(this.#o.name)}` : 'no sentinel reachable';
    return { retryMs: FIRST_RETRY_MS, error: new DiscoveryError(`redisSentinel: ${what} (${failures.join('; ')})`) };
  }

  #moveToFront(sentinel: SentinelAddress): void {
    const i = this.#order.indexOf(sentinel);
    if (i > 0) {
      this.#order.splice(i, 1);
      this.#order.unshift(sentinel);
    }
  }

  /** One command on a fresh connection, closed afterwards; bounded by `sentinelTimeoutMs`. */
  async #ask(protocol: Protocol<RespSession>, endpoint: Endpoint, args: readonly string[]): Promise<unknown> {
    const session = await this.#open(protocol, endpoint);
    try {
      return await session.command(args, { timeoutMs: this.#o.sentinelTimeoutMs, signal: this.#abort.signal });
    } finally {
      if (this.#stopped) session.destroy();
      else void session.close().catch(() => {});
    }
  }

  /**
   * Dials and opens a session within `sentinelTimeoutMs`, aborted by `stop()` too. One
   * controller per call, linked by hand: `AbortSignal.any` with the long-lived stop
   * signal leaks on Node 20 (shared/reference pitfalls).
   */
  async #open(protocol: Protocol<RespSession>, endpoint: Endpoint): Promise<RespSession> {
    const bound = new AbortController();
    const onStop = addAbortListener(this.#abort.signal, () => bound.abort(this.#abort.signal.reason));
    const timer = this.#ctx.scheduler.schedule(() => bound.abort(new Error(`no answer within ${this.#o.sentinelTimeoutMs} ms`)), this.#o.sentinelTimeoutMs);
    const { signal } = bound;
    try {
      const stream: Duplex = await this.#transport.dial(endpoint, { connectTimeoutMs: this.#o.sentinelTimeoutMs, signal });
      try {
        return await protocol.open(stream, { signal, endpoint, markAlive: noop, scheduler: this.#ctx.scheduler });
      } catch (err) {
        stream.destroy();
        throw err;
      }
    } finally {
      timer.unsubscribe();
      onStop[Symbol.dispose]();
    }
  }

  /**
   * Subscribes to `+switch-master` on `sentinel` unless a subscription is alive or one
   * failed less than `pollIntervalMs` ago (an ACL user without channel access gets
   * `-NOPERM`: retrying at once would be a connection storm). A subscription that ends
   * after it was confirmed starts a round (its sentinel may be gone: find another).
   */
  #ensureSwitchWatch(sentinel: SentinelAddress): void {
    if (this.#switchWatch !== undefined || this.#stopped) return;
    if (this.#ctx.scheduler.now() < this.#switchRetryAt) return;
    this.#switchRetryAt = this.#ctx.scheduler.now() + this.#o.pollIntervalMs;
    const name = this.#o.name;
    void this.#open(this.#sentinelProtocol, sentinel).then(
      async (session) => {
        if (this.#stopped || this.#switchWatch !== undefined) {
          session.destroy();
          return;
        }
        this.#switchWatch = session;
        session.onMessage(({ message }) => {
          // `<name> <old ip> <old port> <new ip> <new port>`: only a hint, the round asks again,
          // but at once: rounds that failed while the old master was down may have grown the
          // backoff to seconds (measured: the pool's first write 3.5 s after the kill, not 1.7 s).
          if (String(message).startsWith(`${name} `)) {
            this.#switchSeen = true;
            this.#round();
          }
        });
        try {
          await session.subscribe(['+switch-master']);
        } catch (err) {
          if (this.#switchWatch === session) this.#switchWatch = undefined;
          session.destroy();
          if (!this.#stopped) {
            this.#ctx.report(new DiscoveryError(`redisSentinel: ${describeEndpoint(sentinel)} refused SUBSCRIBE +switch-master; failovers are found by polling every ${this.#o.pollIntervalMs} ms`, { cause: err }));
          }
          return;
        }
        // Confirmed: from now on a lost subscription is worth a round (and a new one).
        this.#switchRetryAt = Number.NEGATIVE_INFINITY;
        void session.closed.then(() => {
          if (this.#switchWatch !== session) return;
          this.#switchWatch = undefined;
          this.#round();
        });
      },
      () => {
        // No subscription this time; a later round tries again after pollIntervalMs.
      },
    );
  }
}

/** `[ip, port]` from `get-master-addr-by-name`, checked; undefined when malformed. */
function masterAddress(reply: unknown): Endpoint | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const host = String(reply[0]);
  const port = Number(reply[1]);
  if (host.length === 0 || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}

function noop(): void {}
