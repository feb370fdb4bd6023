/**
 * A FIFO of chunks, each due at a time, drained in order by one scheduler timer.
 * Shared by the toxics that hold data for a while (latency, bandwidth, slicer, stall).
 *
 * Order is never broken: a chunk whose time has come still waits for the one ahead of it,
 * which is how Toxiproxy's sequential `Pipe` loops behave (a later chunk with a shorter
 * jittered delay does not overtake). Only one timer is armed at a time, for the head.
 */
import type { ToxicContext } from '../toxic-types.js';

interface Entry {
  readonly chunk: Buffer;
  readonly dueAt: number;
}

export class TimedQueue {
  readonly #ctx: ToxicContext;
  #entries: Entry[] = [];
  #head = 0;
  #heldBytes = 0;
  #cancel: (() => void) | undefined;
  #closeWhenEmpty = false;

  constructor(ctx: ToxicContext) {
    this.#ctx = ctx;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Queues `chunk` to leave at `dueAt` (scheduler time), after everything ahead of it. */
  add(chunk: Buffer, dueAt: number): void {
    this.#entries.push({ chunk, dueAt });
    this.#heldBytes += chunk.length;
    if (this.#cancel === undefined) this.#pump();
  }

  /** Closes the stream once the queue has drained (at once if it is empty). */
  closeWhenDrained(): void {
    this.#closeWhenEmpty = true;
    if (this.#cancel === undefined) this.#pump();
  }

  /** Pushes everything now, in order. */
  flush(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    while (this.length > 0) this.#pushHead();
  }

  #pump(): void {
    this.#cancel = undefined;
    while (this.length > 0) {
      const wait = this.#entries[this.#head]!.dueAt - this.#ctx.scheduler.now();
      if (wait > 0) {
        this.#cancel = this.#ctx.schedule(wait, () => this.#pump());
        return;
      }
      this.#pushHead();
    }
    if (this.#closeWhenEmpty) this.#ctx.close();
  }

  #pushHead(): void {
    const entry = this.#entries[this.#head]!;
    this.#head += 1;
    this.#heldBytes -= entry.chunk.length;
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    this.#ctx.push(entry.chunk);
  }
}
