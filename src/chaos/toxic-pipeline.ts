/**
 * One direction of one connection: the chain of toxic stages between a source and a
 * sink. Transport-agnostic — the chaos proxy feeds it from a socket and drains it into
 * the other socket; an in-memory link can do the same with buffers.
 *
 *   write/end ─▶ slot[0] ─▶ slot[1] ─▶ … ─▶ sink.write / sink.end
 *                (each slot: one toxic, either its stage or a pass-through)
 *
 * Semantics follow Toxiproxy's ToxicLink:
 * - `toxicity` is rolled when a toxic attaches to a connection (at accept, or when it is
 *   added while the connection lives) and rolled again when the toxic is updated, as
 *   Toxiproxy re-runs a stub on update. A miss makes the slot a pass-through.
 * - New toxics are appended at the end of the chain.
 * - Replacing or removing a stage never drops what it holds (`flush`).
 * - An end travels behind the data before it, stage by stage.
 *
 * Every stage call and every timer callback runs inside a guard: an exception disposes
 * the pipeline and reports through `onError`, which kills only this connection.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { MAX_DURATION_MS } from '../options.js';
import { FrameCursor } from './frame-splitter.js';
import type { FrameInspector, ToxicContext, ToxicDefinition, ToxicStage, ToxicStream } from './toxic-types.js';

/** Where the pipeline delivers. */
export interface ToxicSink {
  write(chunk: Buffer): void;
  end(): void;
}

/** A toxic as the pipeline needs it (validated attributes, resolved definition). */
export interface PipelineToxic {
  readonly name: string;
  readonly toxicity: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every definition, whatever its attributes
  readonly definition: ToxicDefinition<any, any>;
  readonly attributes: object;
}

export interface ToxicPipelineOptions {
  readonly stream: ToxicStream;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly frames: FrameInspector;
  readonly sink: ToxicSink;
  /** A stage asked for a TCP reset of the whole connection. */
  readonly onReset: () => void;
  /** A stage sends a frame back to its writer: inject it into the opposite pipeline. */
  readonly onReply: (frame: Buffer) => void;
  /** A stage threw; the pipeline is already disposed. */
  readonly onError: (err: unknown) => void;
}

interface Slot {
  readonly toxic: PipelineToxic;
  readonly active: boolean;
  readonly state: unknown;
  /** Frame position of the bytes entering this slot. */
  readonly cursor: FrameCursor;
  stage: ToxicStage;
  /** Whole frames waiting for a boundary in this slot's input (see `pushFrame`). */
  pending: Buffer[];
  inputEnded: boolean;
  outputClosed: boolean;
  detached: boolean;
  readonly timers: Set<Subscription>;
}

/**
 * @example
 * const pipe = new ToxicPipeline({ stream: 'downstream', scheduler: asyncScheduler, random: Math.random,
 *   frames: wireFrames, sink: { write: (c) => socket.write(c), end: () => socket.end() },
 *   onReset: () => socket.resetAndDestroy(), onReply: (f) => other.inject(f), onError: (e) => socket.destroy(e as Error) });
 * pipe.attach({ name: 'latency_downstream', toxicity: 1, definition: latency, attributes: { latency: 100, jitter: 0 } });
 * upstreamSocket.on('data', (c) => pipe.write(c));
 */
export class ToxicPipeline {
  readonly #options: ToxicPipelineOptions;
  #slots: Slot[] = [];
  readonly #sinkCursor = new FrameCursor();
  /** Whole frames waiting for a boundary in the sink's input (see `inject`). */
  #sinkPending: Buffer[] = [];
  #inputEnded = false;
  #sinkEnded = false;
  #disposed = false;

  constructor(options: ToxicPipelineOptions) {
    this.#options = options;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** The sink saw the end of this direction. */
  get ended(): boolean {
    return this.#sinkEnded;
  }

  /** Bytes held inside stages (queued by latency, bandwidth, stalls, partial frames…). */
  get heldBytes(): number {
    let held = 0;
    for (const slot of this.#slots) held += slot.stage.heldBytes ?? 0;
    return held;
  }

  write(chunk: Buffer): void {
    if (this.#disposed || this.#inputEnded || chunk.length === 0) return;
    this.#deliver(0, chunk);
  }

  end(): void {
    if (this.#disposed || this.#inputEnded) return;
    this.#inputEnded = true;
    this.#deliverEnd(0);
  }

  /**
   * Writes a whole frame straight to the sink as soon as the sink is between two frames,
   * so an injected reply never lands inside a frame that is still going through.
   */
  inject(frame: Buffer): void {
    if (!this.#disposed) this.#deliverFrame(this.#slots.length, frame);
  }

  /** Appends a toxic; a no-op once this direction has ended. */
  attach(toxic: PipelineToxic): void {
    if (this.#disposed || this.#sinkEnded) return;
    const slot = this.#createSlot(toxic, toxic.definition.createState?.(), new FrameCursor(this.#sinkCursor.position()));
    if (slot) this.#slots.push(slot);
  }

  /** Swaps a toxic's attributes/toxicity on this connection (re-rolls toxicity). */
  update(toxic: PipelineToxic): void {
    const index = this.#slots.findIndex((s) => s.toxic.name === toxic.name);
    if (this.#disposed || index < 0) return;
    const old = this.#slots[index]!;
    const active = this.#roll(toxic.toxicity);
    // The old stage's state carries on only if both old and new are the real toxic.
    this.#guard(() => old.stage.flush?.({ final: !(old.active && active) }));
    if (this.#disposed) return;
    this.#retire(old);
    const slot = this.#createSlot(toxic, old.state, old.cursor, active);
    if (!slot) return;
    slot.inputEnded = old.inputEnded;
    slot.outputClosed = old.outputClosed;
    slot.pending = old.pending;
    this.#slots[index] = slot;
    if (slot.inputEnded && !slot.outputClosed) this.#guard(() => slot.stage.end());
  }

  /** Removes a toxic from this connection; what it held goes on, in order. */
  detach(name: string): void {
    const slot = this.#slots.find((s) => s.toxic.name === name);
    if (this.#disposed || !slot) return;
    this.#guard(() => slot.stage.flush?.({ final: true }));
    if (slot.active) this.#guard(() => slot.stage.remove?.());
    if (this.#disposed) return;
    this.#retire(slot);
    const index = this.#slots.indexOf(slot);
    this.#slots.splice(index, 1);
    // Frames that waited for this slot's input boundary now wait for the next one's.
    for (const frame of slot.pending) this.#deliverFrame(index, frame);
    if (slot.inputEnded && !slot.outputClosed) this.#deliverEnd(index);
  }

  /** Cancels every timer and stops all delivery; held data is dropped. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const slot of this.#slots) this.#retire(slot);
    this.#slots = [];
  }

  #roll(toxicity: number): boolean {
    return this.#options.random() < toxicity;
  }

  #createSlot(toxic: PipelineToxic, state: unknown, cursor: FrameCursor, active = this.#roll(toxic.toxicity)): Slot | undefined {
    const slot: Slot = {
      toxic, active, state, cursor,
      stage: PASS_THROUGH_PLACEHOLDER,
      pending: [],
      inputEnded: false, outputClosed: false, detached: false,
      timers: new Set(),
    };
    const ctx = this.#contextFor(slot);
    let created = false;
    this.#guard(() => {
      slot.stage = active ? toxic.definition.create(ctx, toxic.attributes, state) : passThrough(ctx);
      created = true;
    });
    return created ? slot : undefined;
  }

  #contextFor(slot: Slot): ToxicContext {
    const { scheduler, random, frames, stream } = this.#options;
    const live = () => !slot.detached && !this.#disposed;
    return {
      stream, scheduler, random, frames,
      framePosition: slot.cursor.position(),
      push: (chunk) => {
        if (live() && !slot.outputClosed && chunk.length > 0) this.#deliver(this.#slots.indexOf(slot) + 1, chunk);
      },
      pushFrame: (frame) => {
        if (live() && !slot.outputClosed) this.#deliverFrame(this.#slots.indexOf(slot) + 1, frame);
      },
      close: () => {
        if (!live() || slot.outputClosed) return;
        slot.outputClosed = true;
        this.#deliverEnd(this.#slots.indexOf(slot) + 1);
      },
      reset: () => {
        if (live()) this.#options.onReset();
      },
      reply: (frame) => {
        if (live()) this.#options.onReply(frame);
      },
      schedule: (delayMs, fn) => {
        if (!live()) return noop;
        // Clamped: a longer delay (latency + jitter, a slicer's running gap) would fire at
        // once; the timed queue re-checks its head's due time when it fires, so it re-arms.
        const sub: Subscription = scheduler.schedule(() => {
          slot.timers.delete(sub);
          if (live()) this.#guard(fn);
        }, Math.min(Math.max(0, delayMs), MAX_DURATION_MS));
        if (!sub.closed) slot.timers.add(sub);
        return () => {
          sub.unsubscribe();
          slot.timers.delete(sub);
        };
      },
    };
  }

  #deliver(index: number, chunk: Buffer): void {
    const slot = this.#slots[index];
    // The guard written out, not `#guard(() => …)`: this runs for every chunk, both ways.
    if (!slot) {
      if (this.#sinkEnded) return;
      this.#sinkCursor.feed(chunk);
      if (this.#disposed) return;
      try {
        this.#options.sink.write(chunk);
      } catch (err) {
        this.#failed(err);
      }
    } else {
      if (slot.inputEnded) return;
      slot.cursor.feed(chunk);
      if (this.#disposed) return;
      try {
        slot.stage.write(chunk);
      } catch (err) {
        this.#failed(err);
      }
    }
    if ((slot ? slot.pending : this.#sinkPending).length > 0) this.#deliverPending(index);
  }

  /** Delivers a whole frame at `index` now if its input is between frames, else queues it. */
  #deliverFrame(index: number, frame: Buffer): void {
    const slot = this.#slots[index];
    if (slot ? slot.inputEnded : this.#sinkEnded) return;
    (slot ? slot.pending : this.#sinkPending).push(frame);
    this.#deliverPending(index);
  }

  #deliverPending(index: number): void {
    const slot = this.#slots[index];
    const pending = slot ? slot.pending : this.#sinkPending;
    const cursor = slot ? slot.cursor : this.#sinkCursor;
    while (pending.length > 0 && cursor.atBoundary && !this.#disposed && this.#slots[index] === slot) {
      const frame = pending.shift()!;
      if (slot) {
        if (slot.inputEnded) return;
        cursor.feed(frame);
        this.#guard(() => slot.stage.write(frame));
      } else {
        if (this.#sinkEnded) return;
        cursor.feed(frame);
        this.#guard(() => this.#options.sink.write(frame));
      }
    }
  }

  #deliverEnd(index: number): void {
    const slot = this.#slots[index];
    if (!slot) {
      if (this.#sinkEnded) return;
      this.#sinkEnded = true;
      this.#sinkPending = [];
      this.#guard(() => this.#options.sink.end());
      return;
    }
    if (slot.inputEnded) return;
    slot.inputEnded = true;
    this.#guard(() => slot.stage.end());
  }

  #retire(slot: Slot): void {
    slot.detached = true;
    for (const sub of slot.timers) sub.unsubscribe();
    slot.timers.clear();
  }

  #guard(fn: () => void): void {
    if (this.#disposed) return;
    try {
      fn();
    } catch (err) {
      this.#failed(err);
    }
  }

  #failed(err: unknown): void {
    this.dispose();
    this.#options.onError(err);
  }
}

function noop(): void {}

const PASS_THROUGH_PLACEHOLDER: ToxicStage = { write: noop, end: noop };

/** What a slot runs when the toxicity roll missed (Toxiproxy's NoopToxic). */
function passThrough(ctx: ToxicContext): ToxicStage {
  return { write: (chunk) => ctx.push(chunk), end: () => ctx.close() };
}
