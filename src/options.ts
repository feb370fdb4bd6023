/**
 * Option validation at the public boundary (tarn's `allowedKeys`, Piscina's validated
 * facade): unknown keys are rejected, nothing is coerced, and every message names the
 * option's path and expected shape — `heartbeat.intervalMs must be an integer in [1, 2147483647] (ms), got -5`.
 * Every duration follows one rule, {@link duration}: an integer number of ms a timer can wait.
 *
 * A schema is a tree of small checkers. `parseOptions(path, schema, value)` returns the
 * value with defaults filled in, frozen, or throws `InvalidOptionError` (`WW_INVALID_OPTION`).
 *
 * @example
 * const heartbeatSchema = shape({
 *   intervalMs: duration({ min: 1, default: 5000 }),
 *   adaptive: boolean({ default: false }),
 * });
 * const hb = parseOptions('heartbeat', heartbeatSchema, { intervalMs: 1000 });
 */
import { InvalidOptionError } from './errors.js';

export interface Checker<T> {
  /** Human description of the accepted shape, used in messages: "an integer >= 1". */
  readonly expected: string;
  /** Whether the key may be absent (it has a default, or is optional). */
  readonly optional: boolean;
  /** The default used when the key is absent (may be undefined). */
  readonly fallback?: () => T | undefined;
  check(value: unknown, path: string): T;
}

export type Infer<C> = C extends Checker<infer T> ? T : never;

/** Renders a value for an error message without dumping objects or secrets. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `an object`;
}

/**
 * What a value is, never what it holds — for values that must not be printed: "a number",
 * "an empty string", "a Buffer", "an array", "null".
 */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (value === '') return 'an empty string';
  const type = typeof value;
  return type === 'undefined' ? 'undefined' : type === 'object' ? 'an object' : `a ${type}`;
}

/**
 * `checker` for a secret (a password, a token, a private key or its passphrase): a
 * failure names the value's type only, never the value — a password mistyped as a number
 * is still the password.
 *
 * @example
 * parseOptions('wire', shape({ token: optional(secret(string())) }), { token: 918273645 });
 * // throws: wire.token must be a string, got a number
 */
export function secret<T>(checker: Checker<T>): Checker<T> {
  return {
    ...checker,
    check(value, path) {
      try {
        return checker.check(value, path);
      } catch (err) {
        // The checker's own message may quote the value; it is dropped unread.
        if (err instanceof InvalidOptionError) throw new InvalidOptionError(`${path} must be ${checker.expected}, got ${describeType(value)}`);
        throw err;
      }
    },
  };
}

export function fail(path: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(`${path} must be ${expected}, got ${describeValue(value)}`);
}

interface Common<T> {
  default?: T | (() => T);
  optional?: boolean;
}

function make<T>(expected: string, common: Common<T> | undefined, check: (value: unknown, path: string) => T): Checker<T> {
  const hasDefault = common !== undefined && 'default' in common;
  const d = common?.default;
  return {
    expected,
    optional: hasDefault || common?.optional === true,
    fallback: hasDefault ? () => (typeof d === 'function' ? (d as () => T)() : (d as T)) : undefined,
    check,
  };
}

interface NumberBounds<T> extends Common<T> {
  min?: number;
  max?: number;
}

function boundsText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` in [${min}, ${max}]`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

/** A finite integer (counts, byte sizes; durations use {@link duration}), optionally bounded. */
export function integer(opts?: NumberBounds<number>): Checker<number> {
  const expected = `an integer${boundsText(opts?.min, opts?.max)}`;
  return make(expected, opts, (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, expected, v);
    if ((opts?.min !== undefined && v < opts.min) || (opts?.max !== undefined && v > opts.max)) fail(path, expected, v);
    return v;
  });
}

/** A finite number, optionally bounded. */
export function number(opts?: NumberBounds<number>): Checker<number> {
  const expected = `a finite number${boundsText(opts?.min, opts?.max)}`;
  return make(expected, opts, (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, expected, v);
    if ((opts?.min !== undefined && v < opts.min) || (opts?.max !== undefined && v > opts.max)) fail(path, expected, v);
    return v;
  });
}

/**
 * The longest delay a timer honours: 2^31 − 1 ms (about 24.8 days). Node (and browsers)
 * store a timer's delay in a signed 32-bit integer and fire a longer one after 1 ms, so a
 * duration above it would not wait longer: it would fire at once.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

interface DurationBounds extends Common<number> {
  /** Default 0. */
  min?: number;
  /** Default (and at most) {@link MAX_DURATION_MS}. */
  max?: number;
  /** Accept `Infinity` too, for options that document it ("never"). */
  infinity?: boolean;
}

/** "an integer in [1, 2147483647] (ms)", the shape every duration is described by. */
export function durationExpected(min = 0, max = MAX_DURATION_MS, infinity = false): string {
  return `an integer in [${min}, ${max}] (ms)${infinity ? ' or Infinity' : ''}`;
}

/** True when `v` is a duration in [min, max] ms: an integer a timer can wait for. */
export function isDurationMs(v: unknown, min = 0, max = MAX_DURATION_MS): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * The error for a duration outside the rule, for the hand checks of hot paths that reject
 * rather than throw (`request(…, { timeoutMs })`).
 */
export function invalidDuration(path: string, value: unknown, min = 0): InvalidOptionError {
  return new InvalidOptionError(`${path} must be ${durationExpected(min)}, got ${describeValue(value)}`);
}

/**
 * A duration in milliseconds — the one rule for every `…Ms` option: an integer in
 * `[min, 2^31 − 1]` (see {@link MAX_DURATION_MS}), or `Infinity` where the option
 * documents it (`infinity: true`).
 *
 * @example
 * const schema = shape({ closeTimeoutMs: duration({ min: 0, default: 5000 }) });
 * parseOptions('server', schema, { closeTimeoutMs: 2 ** 31 });
 * // throws: server.closeTimeoutMs must be an integer in [0, 2147483647] (ms), got 2147483648
 */
export function duration(opts?: DurationBounds): Checker<number> {
  const min = opts?.min ?? 0;
  const max = Math.min(opts?.max ?? MAX_DURATION_MS, MAX_DURATION_MS);
  const infinity = opts?.infinity === true;
  const expected = durationExpected(min, max, infinity);
  return make(expected, opts, (v, path) => {
    if (isDurationMs(v, min, max) || (infinity && v === Number.POSITIVE_INFINITY)) return v as number;
    return fail(path, expected, v);
  });
}

/** A computed delay (a sum or product of valid durations) brought within what a timer can wait. */
export function clampDurationMs(ms: number): number {
  return ms > MAX_DURATION_MS ? MAX_DURATION_MS : ms;
}

export function boolean(opts?: Common<boolean>): Checker<boolean> {
  return make('a boolean', opts, (v, path) => (typeof v === 'boolean' ? v : fail(path, 'a boolean', v)));
}

export function string(opts?: Common<string> & { nonEmpty?: boolean }): Checker<string> {
  const expected = opts?.nonEmpty ? 'a non-empty string' : 'a string';
  return make(expected, opts, (v, path) => {
    if (typeof v !== 'string' || (opts?.nonEmpty && v.length === 0)) fail(path, expected, v);
    return v;
  });
}

/** One of a fixed set of string literals. */
export function oneOf<const L extends string>(values: readonly L[], opts?: Common<L>): Checker<L> {
  const expected = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
  return make(expected, opts, (v, path) => ((values as readonly unknown[]).includes(v) ? (v as L) : fail(path, expected, v)));
}

/** A value checked by a predicate; `expected` describes it ("a SchedulerLike"). */
export function custom<T>(expected: string, test: (v: unknown) => boolean, opts?: Common<T>): Checker<T> {
  return make(expected, opts, (v, path) => (test(v) ? (v as T) : fail(path, expected, v)));
}

/** A plain object (not null, not an array): opaque options validated by their owners. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function func<F extends (...args: never[]) => unknown>(opts?: Common<F>): Checker<F> {
  return custom<F>('a function', (v) => typeof v === 'function', opts);
}

export function arrayOf<T>(item: Checker<T>, opts?: Common<T[]> & { minLength?: number }): Checker<T[]> {
  const min = opts?.minLength ?? 0;
  const expected = min > 0 ? `an array of at least ${min} (${item.expected})` : `an array (${item.expected})`;
  return make(expected, opts, (v, path) => {
    if (!Array.isArray(v) || v.length < min) fail(path, expected, v);
    return Object.freeze(v.map((x, i) => item.check(x, `${path}[${i}]`))) as T[];
  });
}

/**
 * A plain object with known keys. Unknown keys are rejected; absent keys take their
 * default; the result is frozen.
 */
export function shape<S extends Record<string, Checker<unknown>>>(
  fields: S,
  opts?: Common<{ [K in keyof S]: Infer<S[K]> }>,
): Checker<{ readonly [K in keyof S]: Infer<S[K]> }> {
  const known = Object.keys(fields);
  const expected = 'an object';
  return make(expected, opts as Common<{ readonly [K in keyof S]: Infer<S[K]> }>, (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, expected, v);
    const input = v as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(fields, key)) {
        throw new InvalidOptionError(
          `${path}.${key} is not a known option (known: ${known.join(', ')})`,
        );
      }
    }
    const out: Record<string, unknown> = {};
    for (const key of known) {
      const checker = fields[key]!;
      const raw = input[key];
      const p = `${path}.${key}`;
      if (raw === undefined) {
        if (!checker.optional) fail(p, checker.expected, raw);
        const d = checker.fallback?.();
        if (d !== undefined) out[key] = d;
        continue;
      }
      out[key] = checker.check(raw, p);
    }
    return Object.freeze(out) as { readonly [K in keyof S]: Infer<S[K]> };
  });
}

/** Marks a checker optional (absent stays undefined). */
export function optional<T>(checker: Checker<T>): Checker<T | undefined> {
  return { ...checker, optional: true, fallback: checker.fallback ?? (() => undefined) };
}

/**
 * Validates `value` against `schema` at `path` (the public name: `pool`, `heartbeat`).
 * `undefined` counts as an empty object for shapes, so `fn()` and `fn({})` agree.
 */
export function parseOptions<T>(path: string, schema: Checker<T>, value: unknown): T {
  return schema.check(value === undefined ? {} : value, path);
}
