/**
 * The dashboard's live feed: Server-Sent Events to every open page, bounded everywhere.
 *
 *   rt.events$ ──▶ sanitise ──▶ batch (≤ maxBatchEvents per flushMs) ──▶ every client
 *                      └──▶ replay ring (last maxEvents, routine probes excluded)
 *   tick (intervalMs, only while a page is open) ──▶ tree + pool gauges ──▶ every client
 *
 * One string per message, written to every client as is. Backpressure, per client, is
 * measured before a write, never after it:
 *   - the `hello` is always written, and its own size is added to what that client may
 *     have unsent until its backlog is back under `maxBacklogBytes` (a large pool's hello
 *     is ~1–2 KB per connection: on its own it passed the limit, so a fresh page was cut
 *     off and reconnected forever);
 *   - a `snapshot` is skipped while the client's socket needs draining (the next tick
 *     carries newer figures: nothing is lost), and when written it is allowed for the
 *     same way (a tree of thousands of connections is bigger than the limit, too);
 *   - an `events` batch is written unless the backlog already passes the allowance; then
 *     the client (a slow or stalled reader) is disconnected, and its browser reconnects
 *     on its own and starts from a fresh `hello`.
 * Nothing buffers without bound: the replay ring, the batch, the RTT history (per live
 * connection) and the client set all have limits.
 *
 * Messages (`event:` name → `data:` JSON):
 *   hello     { snapshot, rtt: { path: [[at, ms]…] }, events: [replayed…] }   first, per client
 *   snapshot  { at, tree, pools: [{ id, path, stats }] }                        every tick
 *   events    [event…] (and `{ type: 'dropped', count }` when a batch overflowed)
 *
 * Timers run on the runtime's scheduler, like every timer in wirewarden.
 */
import type { ServerResponse } from 'node:http';
import { interval, type Subscription } from 'rxjs';
import type { Runtime } from '../runtime.js';
import type { PoolStats } from '../pool/pool-stats.js';
import { isRoutineTransition, toDashboardEvent, type DashboardEvent } from './dashboard-events.js';
import { readSupervisionTree, type DashboardNode } from './dashboard-tree.js';
import type { RuntimeEvent } from './events.js';

export interface DashboardPoolView {
  readonly id: string;
  readonly path: string;
  readonly stats: PoolStats;
}

export interface DashboardSnapshot {
  readonly at: number;
  readonly tree: DashboardNode;
  readonly pools: readonly DashboardPoolView[];
}

export interface DashboardFeedLimits {
  readonly intervalMs: number;
  readonly maxClients: number;
  readonly maxBacklogBytes: number;
  readonly maxEvents: number;
  readonly maxBatchEvents: number;
  readonly flushMs: number;
  readonly rttSamples: number;
}

/** The pools whose gauges the page shows (the runtime's open pools). */
export type PoolLister = () => readonly { readonly id: string; readonly path: string; stats(): PoolStats }[];

export class DashboardFeed {
  readonly #rt: Runtime;
  readonly #pools: PoolLister;
  readonly #limits: DashboardFeedLimits;
  /** Each open page and its backpressure state. */
  readonly #clients = new Map<ServerResponse, PageState>();
  readonly #replay: DashboardEvent[] = [];
  readonly #batch: DashboardEvent[] = [];
  readonly #rtt = new Map<string, Array<[number, number]>>();
  readonly #events: Subscription;
  #dropped = 0;
  #flush: Subscription | undefined;
  #ticker: Subscription | undefined;
  #closed = false;

  constructor(rt: Runtime, pools: PoolLister, limits: DashboardFeedLimits) {
    this.#rt = rt;
    this.#pools = pools;
    this.#limits = limits;
    // For the dashboard's whole life (not only while a page is open), so a page opened after
    // an incident still lists its restarts and reasons. Costs one small object per state change.
    this.#events = rt.events$.subscribe((e) => this.#onEvent(e));
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** The current picture (also what `/state.json` answers). */
  snapshot(): DashboardSnapshot {
    const at = this.#rt.scheduler.now();
    const pools = this.#pools().map((p) => ({ id: p.id, path: p.path, stats: p.stats() }));
    return { at, tree: readSupervisionTree(this.#rt.root, at), pools };
  }

  /** Starts streaming to `res`; false (nothing written) when `maxClients` pages are open already. */
  add(res: ServerResponse): boolean {
    if (this.#closed || this.#clients.size >= this.#limits.maxClients) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.once('close', () => this.#remove(res));
    const snapshot = this.#sample();
    const hello = `retry: 1000\n${message('hello', { snapshot, rtt: Object.fromEntries(this.#rtt), events: this.#replay })}`;
    // The hello is written whatever its size, and does not count against the page's backlog.
    this.#clients.set(res, { allowance: this.#limits.maxBacklogBytes + Buffer.byteLength(hello), stalledTicks: 0 });
    res.write(hello);
    this.#ticker ??= interval(this.#limits.intervalMs, this.#rt.scheduler).subscribe(() => this.#tick());
    return true;
  }

  /** Ends every stream and stops listening to the runtime. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.unsubscribe();
    this.#flush?.unsubscribe();
    this.#ticker?.unsubscribe();
    for (const res of this.#clients.keys()) res.end();
    this.#clients.clear();
    this.#batch.length = 0;
    this.#replay.length = 0;
    this.#rtt.clear();
  }

  #remove(res: ServerResponse): void {
    this.#clients.delete(res);
    if (this.#clients.size === 0) {
      this.#ticker?.unsubscribe();
      this.#ticker = undefined;
    }
  }

  #onEvent(event: RuntimeEvent): void {
    if (this.#closed) return;
    const routine = isRoutineTransition(event);
    // Heartbeat round trips reach the page through the next snapshot; everything else at once.
    if (routine) return;
    const plain = toDashboardEvent(event);
    this.#replay.push(plain);
    if (this.#replay.length > this.#limits.maxEvents) this.#replay.shift();
    if (this.#clients.size === 0) return;
    if (this.#batch.length < this.#limits.maxBatchEvents) this.#batch.push(plain);
    else this.#dropped++;
    this.#flush ??= this.#rt.scheduler.schedule(() => this.#sendBatch(), this.#limits.flushMs);
  }

  #sendBatch(): void {
    this.#flush = undefined;
    if (this.#batch.length === 0) return;
    const batch = this.#dropped > 0 ? [...this.#batch, { type: 'dropped', count: this.#dropped }] : [...this.#batch];
    this.#batch.length = 0;
    this.#dropped = 0;
    const text = message('events', batch);
    for (const [res, page] of this.#clients) this.#sendEvents(res, page, text);
  }

  #tick(): void {
    if (this.#clients.size === 0) return;
    // Only pages keeping up get this one: a page whose socket needs draining skips it, and
    // reads the next tick's newer figures instead of falling further behind. One that has
    // not drained for STALLED_TICKS ticks is gone (a sleeping laptop, a dead link): its slot
    // is freed, and a live browser reconnects.
    let ready = false;
    for (const [res, page] of [...this.#clients]) {
      if (!res.writableNeedDrain) ready = true;
      else if (++page.stalledTicks >= STALLED_TICKS) this.#drop(res);
    }
    if (!ready) return;
    const text = message('snapshot', this.#sample());
    const bytes = Buffer.byteLength(text);
    for (const [res, page] of this.#clients) {
      if (res.writableNeedDrain) continue;
      // Written only onto a drained socket, and allowed for like the hello: events still get the whole limit.
      page.stalledTicks = 0;
      page.allowance = this.#limits.maxBacklogBytes + res.writableLength + bytes;
      res.write(text);
    }
  }

  /** A snapshot, recording each connection's RTT (pruned to the connections that still exist). */
  #sample(): DashboardSnapshot {
    const snapshot = this.snapshot();
    const seen = new Set<string>();
    const visit = (node: DashboardNode): void => {
      if (node.kind === 'connection') {
        seen.add(node.path);
        if (node.rttMs !== undefined) {
          let samples = this.#rtt.get(node.path);
          if (samples === undefined) this.#rtt.set(node.path, (samples = []));
          const last = samples[samples.length - 1];
          if (last === undefined || last[0] !== snapshot.at) samples.push([snapshot.at, node.rttMs]);
          if (samples.length > this.#limits.rttSamples) samples.shift();
        }
      }
      for (const child of node.children ?? []) visit(child);
    };
    visit(snapshot.tree);
    for (const path of this.#rtt.keys()) if (!seen.has(path)) this.#rtt.delete(path);
    return snapshot;
  }

  /** Events must not be skipped: written unless the page is already too far behind, which cuts it loose. */
  #sendEvents(res: ServerResponse, page: PageState, text: string): void {
    const backlog = res.writableLength;
    // A reader this far behind would only fall further behind: its browser reconnects afresh.
    if (backlog > page.allowance) return this.#drop(res);
    // Back under the limit: its hello or snapshot no longer counts, the plain limit applies.
    if (backlog <= this.#limits.maxBacklogBytes) page.allowance = this.#limits.maxBacklogBytes;
    res.write(text);
  }

  #drop(res: ServerResponse): void {
    this.#clients.delete(res);
    res.destroy();
    this.#remove(res);
  }
}

/** One page's backpressure. */
interface PageState {
  /** Unsent bytes it may have: `maxBacklogBytes`, plus its last hello or snapshot until that drained. */
  allowance: number;
  /** Ticks in a row its socket needed draining (snapshots skipped). */
  stalledTicks: number;
}

/** A page whose socket has not drained for this many ticks in a row is disconnected (30 s at the default interval). */
const STALLED_TICKS = 30;

function message(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
