/**
 * Runtime events as the dashboard sends them to a browser: plain JSON with an allow-list
 * by type. Strings, finite numbers and booleans pass; an `error` becomes `{ name, code,
 * message }` (its message was already redacted where the error was made, see
 * transport/redact.ts; stack, cause chain and any other property are dropped); a
 * leak's acquirer `stack` is dropped; a pool's nested `event` gets the same treatment;
 * anything else (an object, a function, a buffer) is left out. An event type added
 * later is therefore safe by construction: it can only lose fields, never leak one.
 */
import type { RuntimeEvent } from './events.js';

/** A sanitised event: the `RuntimeEvent` fields that are plain, errors as `DashboardError`. */
export type DashboardEvent = { readonly type: string; readonly at?: number } & Readonly<Record<string, unknown>>;

export interface DashboardError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
}

/** Longest message text sent; a server-supplied text could otherwise be arbitrarily long. */
const MAX_TEXT_CHARS = 500;

const DROPPED_KEYS = new Set(['stack', 'cause']);

/**
 * @example
 * toDashboardEvent({ type: 'pool', id: 'p', path: 'root/p', at: 1, event: { type: 'dial-failed', error, … } })
 * // { type: 'pool', id: 'p', path: 'root/p', at: 1, event: { type: 'dial-failed', error: { name, code, message }, … } }
 */
export function toDashboardEvent(event: RuntimeEvent): DashboardEvent {
  return plain(event as unknown as Record<string, unknown>, 1) as DashboardEvent;
}

/**
 * Heartbeat round trips (`ready → probing → ready`) are a connection's normal life:
 * the tree shows them, the event log and the replay buffer do not.
 */
export function isRoutineTransition(event: RuntimeEvent): boolean {
  return event.type === 'state' && ((event.from === 'ready' && event.to === 'probing') || (event.from === 'probing' && event.to === 'ready'));
}

function plain(source: Record<string, unknown>, nestedLevels: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    if (DROPPED_KEYS.has(key)) continue;
    const value = source[key];
    if (key === 'error') {
      if (value !== undefined) out[key] = describeError(value);
    } else if (typeof value === 'string') {
      out[key] = clip(value);
    } else if (typeof value === 'number') {
      out[key] = Number.isFinite(value) ? value : String(value);
    } else if (typeof value === 'boolean') {
      out[key] = value;
    } else if (key === 'event' && nestedLevels > 0 && typeof value === 'object' && value !== null) {
      out[key] = plain(value as Record<string, unknown>, nestedLevels - 1);
    }
  }
  return out;
}

/** `{ name, code, message }` of anything thrown; nothing else of it. */
export function describeError(error: unknown): DashboardError {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: clip(String(error)) };
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? clip(e.name) : 'Error';
  const message = typeof e.message === 'string' ? clip(e.message) : '';
  return typeof e.code === 'string' ? { name, code: clip(e.code), message } : { name, message };
}

function clip(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS)}…`;
}
