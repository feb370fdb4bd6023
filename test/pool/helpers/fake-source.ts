/**
 * An in-memory ConnectionSource for pool tests and benchmarks. Opens complete when the
 * test says so (`ready`), or on the next microtask with `autoReady`. Mirrors phase 2's
 * supervisor contract: a killed slot is replaced (it needs `ready` again), a closed
 * one is gone (`onClosed`, automatic unless `manualClose`).
 */
import type { ConnectionSource, PoolCloseReason, PoolKillReason, PoolSink, SlotInspection } from '../../../src/pool/connection-source.js';
import type { Slot, SlotStream } from '../../../src/pool/slot.js';

export interface FakeConn {
  readonly slotId: string;
  readonly serial: number;
}

export interface FakeSourceOptions {
  /** Complete every open and replacement on the next microtask. */
  autoReady?: boolean;
  /** Leave onClosed to the test (`confirmClose`). */
  manualClose?: boolean;
  /** 'ok' resolves probes/resets at once, 'fail' rejects, 'manual' leaves them to the test. */
  probe?: 'ok' | 'fail' | 'manual';
  reset?: 'ok' | 'fail' | 'manual';
}

interface Deferred {
  slot: Slot<FakeConn>;
  signal?: AbortSignal;
  resolve(): void;
  reject(err: unknown): void;
}

export class FakeSource implements ConnectionSource<FakeConn> {
  sink!: PoolSink<FakeConn>;
  readonly opened: Slot<FakeConn>[] = [];
  readonly closes: { slot: Slot<FakeConn>; reason: PoolCloseReason }[] = [];
  readonly kills: { slot: Slot<FakeConn>; reason: PoolKillReason; error: unknown }[] = [];
  readonly probes: Deferred[] = [];
  readonly resets: Deferred[] = [];
  /** Slots that need a `ready` (new or being replaced). */
  readonly waitingReady = new Set<Slot<FakeConn>>();
  serial = 0;
  options: FakeSourceOptions;

  constructor(options: FakeSourceOptions = {}) {
    this.options = options;
  }

  readonly factory = (sink: PoolSink<FakeConn>): ConnectionSource<FakeConn> => {
    this.sink = sink;
    return this;
  };

  open(slot: Slot<FakeConn>): void {
    this.opened.push(slot);
    this.#needReady(slot);
  }

  close(slot: Slot<FakeConn>, reason: PoolCloseReason): void {
    this.closes.push({ slot, reason });
    this.waitingReady.delete(slot);
    if (!this.options.manualClose) queueMicrotask(() => this.sink.onClosed(slot));
  }

  kill(slot: Slot<FakeConn>, reason: PoolKillReason, error?: unknown): void {
    this.kills.push({ slot, reason, error });
    this.#needReady(slot);
  }

  probe(slot: Slot<FakeConn>, signal: AbortSignal): Promise<void> {
    return this.#deferred(this.probes, this.options.probe ?? 'ok', slot, signal);
  }

  reset(slot: Slot<FakeConn>, signal: AbortSignal): Promise<void> {
    return this.#deferred(this.resets, this.options.reset ?? 'ok', slot, signal);
  }

  inspect(slot: Slot<FakeConn>): SlotInspection | undefined {
    return slot.state === 'pending' ? undefined : { state: 'ready', rttMs: 1 };
  }

  // ── test controls ──

  /** Completes a pending slot's dial; `stream`: the connection's (see `Slot.dying`). */
  ready(slot: Slot<FakeConn>, stream?: SlotStream): FakeConn {
    const conn = { slotId: slot.id, serial: ++this.serial };
    this.waitingReady.delete(slot);
    this.sink.onReady(slot, conn, stream);
    return conn;
  }

  /** Completes every slot waiting for readiness. */
  readyAll(): void {
    for (const slot of [...this.waitingReady]) this.ready(slot);
  }

  failDial(slot: Slot<FakeConn>, error: unknown = new Error('ECONNREFUSED')): void {
    this.sink.onDialFailed(slot, error);
  }

  /** The slot's ready connection dies; phase 2's supervisor would restart it. */
  die(slot: Slot<FakeConn>, reason = 'socket-error', error: unknown = new Error('socket hang up')): void {
    this.sink.onDead(slot, reason, error);
    this.#needReady(slot);
  }

  confirmClose(slot: Slot<FakeConn>): void {
    this.sink.onClosed(slot);
  }

  #needReady(slot: Slot<FakeConn>): void {
    this.waitingReady.add(slot);
    if (this.options.autoReady) {
      queueMicrotask(() => {
        if (this.waitingReady.has(slot) && slot.state === 'pending') this.ready(slot);
      });
    }
  }

  #deferred(list: Deferred[], mode: 'ok' | 'fail' | 'manual', slot: Slot<FakeConn>, signal?: AbortSignal): Promise<void> {
    if (mode === 'ok') return Promise.resolve();
    if (mode === 'fail') return Promise.reject(new Error(`check of ${slot.id} failed`));
    return new Promise<void>((resolve, reject) => {
      list.push({ slot, signal, resolve, reject });
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }
}
