/**
 * The shared-dispatch surface the dispatch benches drive, looked up at run time so that
 * the benches compile and say what is missing before `pool.dispatch` (issue 13) lands,
 * and run unchanged once it has.
 */
import type { Pool } from '../../src/pool/pool.js';

export type DispatchFn<S> = <R>(fn: (conn: S, signal: AbortSignal) => R | Promise<R>) => Promise<R>;

/** `pool.dispatch` bound to its pool, or undefined when this build has none. */
export function dispatchOf<S>(pool: Pool<S>): DispatchFn<S> | undefined {
  const d = (pool as unknown as { dispatch?: unknown }).dispatch;
  return typeof d === 'function' ? (d.bind(pool) as DispatchFn<S>) : undefined;
}

/** `pool.command(args)` (resp() pools), or undefined when this build has none. */
export function commandOf(pool: Pool<unknown>): ((args: readonly (string | Buffer | number)[]) => Promise<unknown>) | undefined {
  const c = (pool as unknown as { command?: unknown }).command;
  return typeof c === 'function' ? (c.bind(pool) as (args: readonly (string | Buffer | number)[]) => Promise<unknown>) : undefined;
}

/** `pool.request(payload)` (wire() pools), or undefined when this build has none. */
export function requestOf(pool: Pool<unknown>): ((payload: unknown) => Promise<unknown>) | undefined {
  const r = (pool as unknown as { request?: unknown }).request;
  return typeof r === 'function' ? (r.bind(pool) as (payload: unknown) => Promise<unknown>) : undefined;
}

/** True when `rt.createPool` accepts the `balance` option (issue 13's balancers are wired in). */
export function hasDispatch(pool: Pool<unknown>): boolean {
  return dispatchOf(pool) !== undefined;
}
