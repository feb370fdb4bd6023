/**
 * Random plain data, the payloads a well-behaved peer may send: what the wire protocol
 * must carry unchanged. Shapes repeat on purpose (keys come from a small set) so the
 * msgpackr encoder defines records and later frames refer to them, the state a hostile
 * frame could corrupt.
 */
import type { Rng } from '../random.js';

const KEYS = ['id', 'op', 'key', 'value', 'items', 'a', 'b', 'user', 'ts', 'data', 'constructor', 'toString', ''];

const EDGE_NUMBERS = [
  0, -0, 1, -1, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -(2 ** 31), -(2 ** 31) - 1,
  Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0.5, -1.5, 1e300, -1e-300, Number.EPSILON, NaN, Infinity, -Infinity,
];

const EDGE_BIGINTS = [0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n];

export interface PlainValueOptions {
  /** Deepest nesting of arrays, objects and maps. Default 6. */
  readonly maxDepth?: number;
  /** Longest string, byte array or collection. Default 64. */
  readonly maxLength?: number;
}

/**
 * A random plain value (iterative: `maxDepth` may be large).
 *
 * @example
 * plainValue(rng, { maxDepth: 3 }) // e.g. { id: 7, items: [ 'a', <Buffer 01> ] }
 */
export function plainValue(rng: Rng, options: PlainValueOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 6;
  const maxLength = options.maxLength ?? 64;
  return build(rng, rng.int(0, maxDepth), maxLength);
}

function scalar(rng: Rng, maxLength: number): unknown {
  switch (rng.int(0, 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(EDGE_NUMBERS);
    case 3:
      return rng.int(-1000, 100000);
    case 4:
      return (rng.float() - 0.5) * 10 ** rng.int(-5, 20);
    case 5:
      return rng.pick(EDGE_BIGINTS);
    case 6:
    case 7:
      return rng.string(maxLength);
    case 8:
      return rng.bytes(rng.size(maxLength));
    default:
      return rng.chance(0.5) ? undefined : rng.pick(KEYS);
  }
}

interface Pending {
  readonly target: unknown[] | Record<string, unknown> | Map<unknown, unknown>;
  readonly key: number | string | undefined;
  readonly depth: number;
}

/** Builds top-down with a work list: a container is created, then its slots are filled. */
function build(rng: Rng, depth: number, maxLength: number): unknown {
  const root: unknown[] = [undefined];
  const work: Pending[] = [{ target: root, key: 0, depth }];
  let budget = 2000; // nodes per value: payloads stay small, depth comes from `depth`
  while (work.length > 0) {
    const { target, key, depth: d } = work.pop()!;
    let value: unknown;
    if (d <= 0 || budget-- <= 0 || rng.chance(0.35)) {
      value = scalar(rng, maxLength);
    } else {
      const kind = rng.int(0, 2);
      // Deep values are chains (one child), shallow ones are broad.
      const length = d > 8 ? 1 : rng.size(Math.min(maxLength, 16));
      if (kind === 0) {
        const arr: unknown[] = new Array<unknown>(length).fill(null);
        for (let i = 0; i < length; i++) work.push({ target: arr, key: i, depth: d - 1 });
        value = arr;
      } else if (kind === 1) {
        const obj: Record<string, unknown> = {};
        for (let i = 0; i < length; i++) {
          const k = rng.chance(0.8) ? rng.pick(KEYS) : rng.string(12);
          if (k === '__proto__') continue;
          obj[k] = null;
          work.push({ target: obj, key: k, depth: d - 1 });
        }
        value = obj;
      } else {
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < length; i++) {
          const k = rng.chance(0.5) ? rng.pick(KEYS) : rng.int(-5, 100);
          map.set(k, null);
          work.push({ target: map, key: k as string, depth: d - 1 });
        }
        value = map;
      }
    }
    if (target instanceof Map) target.set(key, value);
    else (target as Record<string | number, unknown>)[key!] = value;
  }
  return root[0];
}
