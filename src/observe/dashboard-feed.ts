/**
 * The dashboard's live feed: Server-Sent Events to every open page, bounded everywhere.
 *
 *   rt.events$ ──▶ sanitise ──▶ batch (≤ maxBatchEvents per flushMs) ──▶ every client
 *                      └──▶ replay ring (last maxEvents, routine probes excluded)
 *   tick (intervalMs, only while a page is open) ──▶ tree + pool gauges ──▶ every client
 *
 * One string per message, written to every client as is. A client whose unsent bytes
 * pass `maxBacklogBytes` (a slow or stalled reader) is disconnected; its browser
 * reconnects on its own and starts from a fresh `hello`. Nothing buffers without bound:
 * the replay ring, the batch, the RTT history (per live connection) and the client set
 * all have limits.
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
  readonly #clients = new Set<ServerResponse>();
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
    this.#clients.add(res);
    res.once('close', () => this.#remove(res));
    const snapshot = this.#sample();
    const hello = { snapshot, rtt: Object.fromEntries(this.#rtt), events: this.#replay };
    this.#send(res, `retry: 1000\n${message('hello', hello)}`);
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
    for (const res of this.#clients) res.end();
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
    this.#broadcast(message('events', batch));
  }

  #tick(): void {
    if (this.#clients.size === 0) return;
    this.#broadcast(message('snapshot', this.#sample()));
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

  #broadcast(text: string): void {
    for (const res of this.#clients) this.#send(res, text);
  }

  #send(res: ServerResponse, text: string): void {
    res.write(text);
    if (res.writableLength > this.#limits.maxBacklogBytes) {
      // A reader this far behind would only fall further behind: cut it loose, its browser reconnects.
      this.#clients.delete(res);
      res.destroy();
      this.#remove(res);
    }
  }
}

function message(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
