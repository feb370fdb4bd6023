/**
 * XState inspection events in the wire format of `@statelyai/inspect` 0.7 (its
 * `convertXStateEvent`), so that the Stately inspector — through our relay's bridge page
 * or any `createWebSocketReceiver` — reads the runtime as if `createWebSocketInspector`
 * had sent them. Only `@xstate.actor`, `@xstate.event` and `@xstate.snapshot` are
 * forwarded, as Stately does; microsteps and actions are not.
 *
 * Serialisation is our own (`toPlainJson`): depth-limited and cycle-safe like Stately's
 * safe-stable-stringify, and stricter where it matters here: an `Error` becomes
 * `{ name, code, message }` (no stack, no cause chain, no extra property that could
 * carry a credential), an actor reference becomes `{ id, sessionId }`, a function
 * `{ type: name }`, and `Infinity` stays `"Infinity"` instead of JSON's `null` (a
 * supervisor with `maxRestarts: Infinity` must not read as `maxRestarts: null`). A value
 * with a `toJSON` is shown as its `toJSON()`, as `JSON.stringify` would: a supervisor spec
 * drops its children's logic and input there, a `Date` becomes its ISO string.
 *
 * Inputs: an actor's input reaches the inspector twice, in its `xstate.init` event and, for
 * callback, promise and observable actors, in its snapshot. wirewarden's own actors
 * (supervisors, connections, breakers) are given inputs made to be shown (a spec's
 * `toJSON`, plain endpoints and options); any other actor's input is the user's and may
 * hold a credential (`{ id: 'w', logic, input: { apiKey } }`), so it is replaced by
 * `"[redacted]"`. Their machine context is shown as Stately shows it: keep secrets out of
 * context, or out of actors you inspect.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { connectionMachine } from '../actors/connection-machine.js';
import { breakerMachine } from '../pool/health/breaker-machine.js';
import { isSupervisorLogic } from '../supervisor/supervisor-spec.js';

/** The `@statelyai/inspect` version whose format this is (sent as `_version`). */
export const STATELY_INSPECT_VERSION = '0.7.2';

/** Nesting kept before a value is replaced by `"[Object]"` / `"[Array]"` (Stately keeps 10). */
const DEPTH_LIMIT = 12;

/** What a foreign actor's input is shown as. */
export const REDACTED_INPUT = '[redacted]';

/** Whether the actor runs one of wirewarden's own logics, whose inputs are made to be shown. */
function isOwnActor(ref: unknown): boolean {
  const logic = (ref as { logic?: unknown } | undefined)?.logic;
  return logic === connectionMachine || logic === breakerMachine || isSupervisorLogic(logic);
}

/**
 * The actor's snapshot, or undefined while it initialises (a live `@xstate.actor` event is
 * sent from its constructor; XState's development build throws on reading it then).
 */
function snapshotOf(ref: AnyActorRef): unknown {
  try {
    return ref.getSnapshot();
  } catch {
    return undefined;
  }
}

/** `value` with its `input` replaced, when it has one (an `xstate.init` event, a callback actor's snapshot). */
function withoutInput(value: unknown): unknown {
  if (!isObject(value) || value.input === undefined) return value;
  return { ...value, input: REDACTED_INPUT };
}

/** One inspection event as Stately's JSON text, or `undefined` for events Stately does not forward. */
export function toStatelyMessage(event: InspectionEvent): string | undefined {
  const createdAt = Date.now().toString();
  switch (event.type) {
    case '@xstate.actor': {
      const ref = event.actorRef as AnyActorRef;
      const config = (ref as { logic?: { config?: unknown } }).logic?.config;
      const name = ref.id === ref.sessionId && isObject(config) && typeof config.id === 'string' ? config.id : ref.id;
      const own = isOwnActor(ref);
      return toPlainJson({
        name,
        type: '@xstate.actor',
        definition: JSON.stringify(toPlain(isObject(config) ? config : { id: name })),
        _version: STATELY_INSPECT_VERSION,
        createdAt,
        id: null,
        rootId: event.rootId,
        parentId: ref._parent?.sessionId,
        sessionId: ref.sessionId,
        snapshot: own ? snapshotOf(ref) : withoutInput(snapshotOf(ref)),
      });
    }
    case '@xstate.event':
      return toPlainJson({
        type: '@xstate.event',
        event: isOwnActor(event.actorRef) ? event.event : withoutInput(event.event),
        sourceId: event.sourceRef?.sessionId,
        sessionId: event.actorRef.sessionId,
        _version: STATELY_INSPECT_VERSION,
        createdAt,
        id: null,
        rootId: event.rootId,
      });
    case '@xstate.snapshot': {
      const own = isOwnActor(event.actorRef);
      return toPlainJson({
        type: '@xstate.snapshot',
        event: own ? event.event : withoutInput(event.event),
        snapshot: own ? event.snapshot : withoutInput(event.snapshot),
        sessionId: event.actorRef.sessionId,
        _version: STATELY_INSPECT_VERSION,
        createdAt,
        id: null,
        rootId: event.rootId,
      });
    }
    default:
      return undefined;
  }
}

/** `JSON.stringify` of {@link toPlain}. */
export function toPlainJson(value: unknown): string {
  return JSON.stringify(toPlain(value));
}

/** A JSON-safe copy of `value` under the rules in this module's docblock. */
export function toPlain(value: unknown, depth = 0, ancestors: unknown[] = []): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'function':
      return { type: value.name };
    case 'undefined':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return typeof code === 'string' ? { name: value.name, code, message: value.message } : { name: value.name, message: value.message };
  }
  if (isActorRef(value)) return { id: value.id, sessionId: value.sessionId };
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.constructor.name} ${value.byteLength} bytes]`;
  if (ancestors.includes(value)) return '[Circular]';
  if (depth >= DEPTH_LIMIT) return Array.isArray(value) ? '[Array]' : '[Object]';
  ancestors.push(value);
  let out: unknown;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function' && !Array.isArray(value)) {
    // What the owner chose to show (JSON.stringify's rule): a spec without its children's
    // logic and input, a Date as its ISO string. Walked again, so the result is plain too.
    const json: unknown = toJSON.call(value, '');
    out = json === value ? plainRecord(value as object, depth, ancestors) : toPlain(json, depth + 1, ancestors);
  } else if (Array.isArray(value)) {
    out = value.map((v) => toPlain(v, depth + 1, ancestors) ?? null);
  } else if (value instanceof Map) {
    out = Object.fromEntries([...value].map(([k, v]) => [String(k), toPlain(v, depth + 1, ancestors)]));
  } else if (value instanceof Set) {
    out = [...value].map((v) => toPlain(v, depth + 1, ancestors) ?? null);
  } else {
    out = plainRecord(value as object, depth, ancestors);
  }
  ancestors.pop();
  return out;
}

function plainRecord(value: object, depth: number, ancestors: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = toPlain((value as Record<string, unknown>)[key], depth + 1, ancestors);
    if (v !== undefined) record[key] = v;
  }
  return record;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isActorRef(value: unknown): value is AnyActorRef {
  return isObject(value) && typeof value.sessionId === 'string' && typeof value.send === 'function' && typeof value.getSnapshot === 'function';
}
