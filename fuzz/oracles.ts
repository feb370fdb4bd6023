/**
 * The fuzzer's judgements: is an error coded, are two decoded values the same, is a
 * decoded value plain data. All three walk values with an explicit stack: a hostile
 * input may nest 100 000 deep, and a recursive walk would be the crash it reports.
 */

/** True for a wirewarden error: a `code` string starting with `WW_`. */
export function isCoded(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.startsWith('WW_');
}

/** `ErrorName WW_CODE: message` (the message cut), for samples. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return `non-error thrown: ${typeof err} ${String(err).slice(0, 100)}`;
  const code = (err as { code?: unknown }).code;
  return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message.slice(0, 160)}`;
}

/** The code of a thrown value, `none` for no error, or a marker that says it had no code. */
export function errorCode(err: unknown): string {
  if (err === undefined) return 'none';
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : `uncoded ${err instanceof Error ? err.name : typeof err}`;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && (v.constructor === Uint8Array || Buffer.isBuffer(v));
}

/**
 * Deep equality for decoded values: primitives (NaN equals NaN, undefined equals null), bigints, byte arrays
 * (Buffer and Uint8Array alike), arrays, Maps and Sets (in insertion order), plain objects
 * (same keys), Dates, and errors (same name and message). Iterative.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  const stack: unknown[] = [a, b];
  while (stack.length > 0) {
    const y = stack.pop();
    const x = stack.pop();
    // msgpack has one nil: an encoder writes `undefined` as nil, which decodes to null.
    if (x === y || (x == null && y == null)) continue;
    if (typeof x !== typeof y) return false;
    if (typeof x === 'number') {
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      return false;
    }
    if (typeof x !== 'object' || x === null || y === null) return false;
    if (isBytes(x) || isBytes(y)) {
      if (!isBytes(x) || !isBytes(y) || !Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(y)) return false;
      continue;
    }
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) stack.push(x[i], y[i]);
      continue;
    }
    if (x instanceof Map) {
      if (!(y instanceof Map) || x.size !== y.size) return false;
      const xs = [...x];
      const ys = [...y];
      for (let i = 0; i < xs.length; i++) stack.push(xs[i]![0], ys[i]![0], xs[i]![1], ys[i]![1]);
      continue;
    }
    if (x instanceof Set) {
      if (!(y instanceof Set) || x.size !== y.size) return false;
      const xs = [...x];
      const ys = [...y];
      for (let i = 0; i < xs.length; i++) stack.push(xs[i], ys[i]);
      continue;
    }
    if (x instanceof Date) {
      if (!(y instanceof Date) || !sameValue(x.getTime(), y.getTime())) return false;
      continue;
    }
    if (x instanceof Error) {
      if (!(y instanceof Error) || x.name !== y.name || x.message !== y.message) return false;
      continue;
    }
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
    const xk = Object.keys(x);
    const yk = Object.keys(y as object);
    if (xk.length !== yk.length) return false;
    for (const k of xk) {
      if (!Object.prototype.hasOwnProperty.call(y, k)) return false;
      stack.push((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]);
    }
  }
  return true;
}

/**
 * `undefined` when `value` is plain data — null, undefined, booleans, numbers, bigints,
 * strings, Buffers/Uint8Arrays, Dates (msgpack's timestamp), arrays, Maps and objects
 * whose prototype is `Object.prototype` or null — otherwise what it found instead.
 */
export function nonPlain(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || v === undefined) continue;
    switch (typeof v) {
      case 'boolean':
      case 'number':
      case 'bigint':
      case 'string':
        continue;
      case 'object':
        break;
      default:
        return typeof v;
    }
    if (isBytes(v) || v instanceof Date) continue;
    if (Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Array.prototype) return 'an array with a foreign prototype';
      for (const item of v) stack.push(item);
      continue;
    }
    if (v instanceof Map) {
      if (Object.getPrototypeOf(v) !== Map.prototype) return 'a Map with a foreign prototype';
      for (const [k, item] of v) stack.push(k, item);
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
      return `an instance of ${typeof name === 'string' && name !== '' ? name : 'an unknown class'}`;
    }
    for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return undefined;
}
