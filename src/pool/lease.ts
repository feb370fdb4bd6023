/**
 * A lease: the right to use one pooled connection until `release()` or `destroy()`.
 *
 * One small object per acquire, never recycled: a stale reference must keep failing
 * after its lease ended (`LeaseReleasedError`), which a reused object could not
 * guarantee. It has two fields (its slot and its state); recycling it would gain ~5 %
 * on the contended benchmark, not worth a stale lease touching the next holder's
 * connection.
 *
 *   active ── release() ──▶ released      conn, release, destroy → WW_LEASE_RELEASED
 *      │  ── destroy()  ──▶ destroyed     (same)
 *      └─ connection died ▶ lost          conn → WW_LEASE_LOST; the first release() or
 *                                         destroy() acknowledges silently, so a
 *                                         `finally { lease.release() }` never hides the
 *                                         error the holder's call already saw
 *
 * `[Symbol.asyncDispose]` releases an active lease and is a no-op on an ended one, so
 * `await using` composes with an explicit `release()` or `destroy()` in the block.
 */
import { LeaseLostError, LeaseReleasedError } from '../errors.js';
import type { Slot } from './slot.js';

/** The pool side of a lease. */
export interface LeaseOwner<C> {
  releaseLease(lease: Lease<C>, slot: Slot<C>): void;
  destroyLease(lease: Lease<C>, slot: Slot<C>, reason: unknown): void;
}

const ACTIVE = 0;
const RELEASED = 1;
const DESTROYED = 2;
type LeaseState = typeof ACTIVE | typeof RELEASED | typeof DESTROYED;

/** Why a lease was lost; allocated only then. `acknowledged` after the first release(). */
class Lost {
  acknowledged = false;
  constructor(
    readonly why: string,
    readonly cause: unknown,
  ) {}
}

/**
 * @example
 * const lease = await pool.acquire({ timeoutMs: 500 });
 * try {
 *   await lease.conn.request({ op: 'get', key: 'k' });
 * } finally {
 *   lease.release();
 * }
 */
export class Lease<C = unknown> {
  // Two fields: a lease is allocated per acquire, so it is kept as small as possible.
  // While active, the slot's connection is this lease's (a replacement ends the lease
  // first), and the slot knows its pool.
  readonly #slot: Slot<C>;
  #state: LeaseState | Lost = ACTIVE;

  /** @internal Leases are made by the pool. */
  constructor(slot: Slot<C>) {
    this.#slot = slot;
  }

  /** The session of the leased connection. Throws once the lease has ended. */
  get conn(): C {
    if (this.#state === ACTIVE) return this.#slot.conn as C;
    throw this.#endedError('use');
  }

  /** The pool's id of the leased connection (as in `pool.connections()`). */
  get connectionId(): string {
    return this.#slot.id;
  }

  /** @internal The leased slot: `pool.use` reports its call's outcome there (endpoint health). */
  get slot(): Slot<C> {
    return this.#slot;
  }

  /** True until released, destroyed or lost. */
  get active(): boolean {
    return this.#state === ACTIVE;
  }

  /** Returns the connection to the pool. A second call throws `LeaseReleasedError`. */
  release(): void {
    const state = this.#state;
    if (state === ACTIVE) {
      this.#state = RELEASED;
      this.#slot.owner.releaseLease(this, this.#slot);
    } else if (state instanceof Lost && !state.acknowledged) {
      state.acknowledged = true;
    } else {
      throw this.#endedError('release');
    }
  }

  /**
   * Ends the lease and kills the connection (the pool replaces it). Use when the
   * session is in an unknown state, e.g. after a cancelled request.
   */
  destroy(reason?: unknown): void {
    const state = this.#state;
    if (state === ACTIVE) {
      this.#state = DESTROYED;
      this.#slot.owner.destroyLease(this, this.#slot, reason);
    } else if (state instanceof Lost && !state.acknowledged) {
      state.acknowledged = true;
    } else {
      throw this.#endedError('destroy');
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const state = this.#state;
    if (state === ACTIVE) this.release();
    else if (state instanceof Lost) state.acknowledged = true;
  }

  /** @internal The connection died or was taken back while leased; `why` ends a sentence. */
  markLost(why: string, cause?: unknown): void {
    if (this.#state === ACTIVE) this.#state = new Lost(why, cause);
  }

  #endedError(what: string): Error {
    const id = this.#slot.id;
    const state = this.#state;
    if (state instanceof Lost && (!state.acknowledged || what === 'use')) {
      return new LeaseLostError(`cannot ${what} lease of connection ${id}: ${state.why}`, { cause: state.cause });
    }
    const how = state === DESTROYED ? 'destroyed' : 'released';
    return new LeaseReleasedError(`cannot ${what} lease of connection ${id}: already ${how}`);
  }
}
