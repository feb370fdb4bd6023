/**
 * `SimulatedScheduler`: the virtual clock of a simulated run — an RxJS `SchedulerLike`
 * whose time moves only when its driver says so, like RxJS's `VirtualTimeScheduler`,
 * built for runs of hours over thousands of connections.
 *
 * Why not `VirtualTimeScheduler`: two of its choices grow with the run.
 * - An action that re-schedules itself (`this.schedule(...)` inside its work: every
 *   periodic timer — a heartbeat ticker, `interval()`, a check loop) gets a *new*
 *   `VirtualAction`, added as a child of the previous one. The chain is never cut: one
 *   link per elapsed period stays in memory, and unsubscribing the first link recurses
 *   through all of them — `RangeError: Maximum call stack size exceeded` once a 50 ms
 *   loop has run ~3 virtual minutes, with the last link left scheduled.
 * - Its queue is an array sorted again on every `schedule` and searched on every
 *   `unsubscribe`: O(n) per timer with n timers pending, the dominant cost at 1,000
 *   connections.
 *
 * Here an action re-scheduled from anywhere is the same action, moved in a binary heap
 * (O(log n)); cancelling removes it from the heap at once, so `pending` is exactly what is
 * left. Order is the one `VirtualTimeScheduler` gives, so a run replays as it did on it:
 * by due time, then by sequence — taken when the action is created, and again when it is
 * re-scheduled while queued or from inside its own work (where `VirtualTimeScheduler`
 * creates a new action).
 *
 *   schedule(work, delayMs) ─▶ heap (due, seq) ─▶ runInstant(t): pop everything due ≤ t,
 *                                                  including what that work schedules at t
 *
 * A negative or NaN delay counts as 0 (time never runs backwards); an infinite one never
 * fires. A work that throws cancels every queued action and the error is rethrown to the
 * driver, as `VirtualTimeScheduler.flush()` does: the run can no longer be trusted.
 */
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

type Work<T> = (this: SchedulerAction<T>, state?: T) => void;

const idle = (): void => {};

/** What the queue sees of an action, whatever its state type. */
interface QueuedAction {
  due: number;
  seq: number;
  slot: number;
  run(): unknown;
  unsubscribe(): void;
}

/** One scheduled piece of work; re-scheduling moves it, it never chains a new one. */
class SimulatedAction<T> extends Subscription implements SchedulerAction<T>, QueuedAction {
  /** @internal due time, in scheduler ms */
  due = 0;
  /** @internal tie-break among actions due at the same instant */
  seq: number;
  /** @internal position in the heap; -1 when not queued */
  slot = -1;
  #scheduler: SimulatedScheduler | undefined;
  #work: Work<T>;
  #state: T | undefined;

  constructor(scheduler: SimulatedScheduler, work: Work<T>, seq: number) {
    super();
    this.#scheduler = scheduler;
    this.#work = work;
    this.seq = seq;
  }

  schedule(state?: T, delay = 0): Subscription {
    const scheduler = this.#scheduler;
    if (scheduler === undefined) return this;
    this.#state = state;
    scheduler.enqueue(this, delay);
    return this;
  }

  /** @internal runs the work; returns what it threw, if anything. */
  run(): unknown {
    try {
      this.#work.call(this, this.#state);
      return undefined;
    } catch (err) {
      this.unsubscribe();
      return err ?? new Error('scheduled action threw a falsy value');
    }
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.#scheduler?.dequeue(this);
    this.#scheduler = undefined;
    this.#work = idle;
    this.#state = undefined;
    super.unsubscribe();
  }
}

/**
 * A virtual clock for long, large simulations (see the module comment for why it is not
 * `VirtualTimeScheduler`). `VirtualDriver` drives it; give it to `createRuntime`,
 * `createSimulatedNetwork` and `createWireServer` as their `scheduler`.
 *
 * @example
 * const scheduler = new SimulatedScheduler();
 * const rt = createRuntime({ scheduler, random: seededRandom(1), loadSource: () => 0 });
 * await new VirtualDriver(scheduler).advanceTo(3_600_000); // one virtual hour
 */
export class SimulatedScheduler implements SchedulerLike {
  #now = 0;
  #seq = 0;
  readonly #heap: QueuedAction[] = [];
  #running: QueuedAction | undefined;

  now(): number {
    return this.#now;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay?: number, state?: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new SimulatedAction<T>(this, work, this.#seq++).schedule(state, delay);
  }

  /** Actions waiting to run. */
  get pending(): number {
    return this.#heap.length;
  }

  /** Due time of the next action, or undefined when none is left. */
  nextDueAt(): number | undefined {
    return this.#heap[0]?.due;
  }

  /**
   * Moves the clock to `at` (never backwards) and runs every action due by then, in
   * order, including those the work schedules for `at` itself.
   */
  runInstant(at: number): void {
    if (at > this.#now) this.#now = at;
    const heap = this.#heap;
    for (;;) {
      const action = heap[0];
      if (action === undefined || action.due > this.#now) return;
      this.#pop();
      this.#running = action;
      const error = action.run();
      this.#running = undefined;
      if (error !== undefined) {
        while (heap.length > 0) heap[heap.length - 1]!.unsubscribe();
        throw error;
      }
    }
  }

  /** Moves the clock to `at` without running anything; never backwards. */
  moveTo(at: number): void {
    if (at > this.#now) this.#now = at;
  }

  /** @internal (re)queues `action` to run `delay` ms from now. */
  enqueue(action: QueuedAction, delay: number): void {
    const queued = action.slot >= 0;
    if (queued) this.#remove(action.slot);
    if (delay === Number.POSITIVE_INFINITY) return;
    // A queued action or one re-armed from its own work takes a new place in line, as
    // `VirtualTimeScheduler`'s new action would; one re-armed after it ran keeps its own.
    if (queued || this.#running === action) action.seq = this.#seq++;
    action.due = this.#now + (delay > 0 ? delay : 0);
    const heap = this.#heap;
    action.slot = heap.length;
    heap.push(action);
    this.#up(action.slot);
  }

  /** @internal removes `action` from the queue if it is there. */
  dequeue(action: QueuedAction): void {
    if (action.slot >= 0) this.#remove(action.slot);
  }

  #pop(): void {
    this.#remove(0);
  }

  #remove(slot: number): void {
    const heap = this.#heap;
    const gone = heap[slot]!;
    gone.slot = -1;
    const last = heap.pop()!;
    if (last === gone) return;
    heap[slot] = last;
    last.slot = slot;
    this.#up(slot);
    this.#down(last.slot);
  }

  #up(slot: number): void {
    const heap = this.#heap;
    const action = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (!before(action, parent)) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = action;
    action.slot = slot;
  }

  #down(slot: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const action = heap[slot]!;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      const next = heap[child]!;
      if (!before(next, action)) break;
      heap[slot] = next;
      next.slot = slot;
      slot = child;
    }
    heap[slot] = action;
    action.slot = slot;
  }
}

function before(a: QueuedAction, b: QueuedAction): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
