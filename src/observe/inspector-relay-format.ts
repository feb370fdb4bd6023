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
 * supervisor with `maxRestarts: Infinity` must not read as `maxRestarts: null`).
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';

/** The `@statelyai/inspect` version whose format this is (sent as `_version`). */
export const STATELY_INSPECT_VERSION = '0.7.2';

/** Nesting kept before a value is replaced by `"[Object]"` / `"[Array]"` (Stately keeps 10). */
const DEPTH_LIMIT = 12;

/** One inspection event as Stately's JSON text, or `undefined` for events Stately does not forward. */
export function toStatelyMessage(event: InspectionEvent): string | undefined {
  const createdAt = Date.now().toString();
  switch (event.type) {
    case '@xstate.actor': {
      const ref = event.actorRef as AnyActorRef;
      const config = (ref as { logic?: { config?: unknown } }).logic?.config;
      const name = ref.id === ref.sessionId && isObject(config) && typeof config.id === 'string' ? config.id : ref.id;
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
        snapshot: ref.getSnapshot(),
      });
    }
    case '@xstate.event':
      return toPlainJson({
        type: '@xstate.event',
        event: event.event,
        sourceId: event.sourceRef?.sessionId,
        sessionId: event.actorRef.sessionId,
        _version: STATELY_INSPECT_VERSION,
        createdAt,
        id: null,
        rootId: event.rootId,
      });
    case '@xstate.snapshot':
      return toPlainJson({
        type: '@xstate.snapshot',
        event: event.event,
        snapshot: event.snapshot,
        sessionId: event.actorRef.sessionId,
        _version: STATELY_INSPECT_VERSION,
        createdAt,
        id: null,
        rootId: event.rootId,
      });
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
  if (Array.isArray(value)) {
    out = value.map((v) => toPlain(v, depth + 1, ancestors) ?? null);
  } else if (value instanceof Map) {
    out = Object.fromEntries([...value].map(([k, v]) => [String(k), toPlain(v, depth + 1, ancestors)]));
  } else if (value instanceof Set) {
    out = [...value].map((v) => toPlain(v, depth + 1, ancestors) ?? null);
  } else {
    const record: Record<string, unknown> = {};
    for (const key of Object.keys(value as object)) {
      const v = toPlain((value as Record<string, unknown>)[key], depth + 1, ancestors);
      if (v !== undefined) record[key] = v;
    }
    out = record;
  }
  ancestors.pop();
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isActorRef(value: unknown): value is AnyActorRef {
  return isObject(value) && typeof value.sessionId === 'string' && typeof value.send === 'function' && typeof value.getSnapshot === 'function';
}
