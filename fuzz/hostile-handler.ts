/**
 * The wire server's request handler in the fuzz run: an echo, except for requests whose
 * payload is an object with an `op` field, which get one of the outcomes a careless (or
 * hostile) handler can produce — throwing something that is not an Error, rejecting with
 * nothing, returning a Proxy whose every trap throws, a getter that throws, a cycle, a
 * function, a BigInt past 64 bits, a thenable that throws or settles twice. The contract:
 * every request still gets a RES or an ERR, and the process survives.
 *
 * The outcome is a pure function of the payload, so a case replays the same outcomes.
 */

/** Builds one hostile outcome (index into `OUTCOMES`). */
const OUTCOMES: ReadonlyArray<(payload: unknown) => unknown> = [
  (payload) => payload,
  () => {
    throw 'a string, not an Error';
  },
  () => {
    throw null;
  },
  () => {
    throw undefined;
  },
  () => Promise.reject(undefined),
  () => Promise.reject(Object.create(null)),
  () => ({
    get x(): never {
      throw new Error('a getter that throws');
    },
  }),
  () =>
    new Proxy(
      {},
      {
        get() {
          throw new TypeError('every trap throws');
        },
        ownKeys() {
          throw new TypeError('every trap throws');
        },
        getPrototypeOf() {
          throw new TypeError('every trap throws');
        },
        has() {
          throw new TypeError('every trap throws');
        },
        getOwnPropertyDescriptor() {
          throw new TypeError('every trap throws');
        },
      },
    ),
  () => Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 }),
  () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    return o;
  },
  () => () => 'a function',
  () => Symbol('a symbol'),
  () => 2n ** 70n,
  () => ({
    then() {
      throw new Error('a thenable whose then throws');
    },
  }),
  () => {
    throw {
      get message(): never {
        throw new Error('message getter');
      },
      get code(): never {
        throw new Error('code getter');
      },
    };
  },
  () => {
    throw Object.assign(new Error('an error whose code is not a string'), { code: { nested: true } });
  },
  () => ({
    then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
      resolve('first');
      resolve('second');
      reject(new Error('after'));
    },
  }),
];

/** How many outcomes there are (the echo included). */
export const HOSTILE_OUTCOMES = OUTCOMES.length;

function outcomeIndex(payload: unknown): number {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || !('op' in payload)) return 0;
  const op = (payload as { op: unknown }).op;
  const n = typeof op === 'number' && Number.isFinite(op) ? Math.abs(Math.trunc(op)) : String(typeof op === 'bigint' ? op : typeof op === 'object' ? 'o' : op).length;
  return n % OUTCOMES.length;
}

/**
 * Echoes most requests; `{ op, … }` payloads get a hostile outcome.
 *
 * @example
 * createWireServer({ handler: hostileHandler });
 */
export function hostileHandler(payload: unknown): unknown {
  return OUTCOMES[outcomeIndex(payload)]!(payload);
}
