/**
 * A connection actor's snapshot: XState's `{ status, output, error }` plus the state
 * `value` and the plain-data `context`, in the same shape a machine snapshot has
 * (`'ready'`, `{ dialing: 'connecting' }`), so observers, the supervisor and the Stately
 * inspector read it like any machine's.
 *
 * Snapshots are immutable and one is built per state change: a class instance with a
 * fixed shape (one allocation; `matches` lives on the prototype, so JSON and the
 * inspector see only data). Nothing in it points at a socket, a session or a secret.
 */
import type { Snapshot } from 'xstate';
import type { ConnectionContext, ConnectionOutput, ConnectionState } from './connection-types.js';

/** Where the connection is, as a machine's state value. */
export type ConnectionStateValue =
  | Exclude<ConnectionState, 'dialing'>
  | { readonly dialing: 'connecting' | 'handshaking' };

/** A state name at any depth: `ready`, `dialing`, `dialing.connecting`. */
export type ConnectionStatePath = ConnectionState | 'dialing.connecting' | 'dialing.handshaking';

export type ConnectionSnapshot = Snapshot<ConnectionOutput> & {
  readonly value: ConnectionStateValue;
  readonly context: ConnectionContext;
  /** Always empty: a connection has no child actors. */
  readonly children: Readonly<Record<string, never>>;
  /** Whether the connection is in `state` (a parent state matches its children). */
  matches(state: ConnectionStatePath | ConnectionStateValue): boolean;
};

export const CONNECTING: ConnectionStateValue = Object.freeze({ dialing: 'connecting' as const });
export const HANDSHAKING: ConnectionStateValue = Object.freeze({ dialing: 'handshaking' as const });

const NO_CHILDREN: Readonly<Record<string, never>> = Object.freeze({});

/** The flat name a transition switches on: `connecting`, `handshaking`, `ready`, … */
export type FlatState = Exclude<ConnectionState, 'dialing'> | 'connecting' | 'handshaking';

export function flatState(value: ConnectionStateValue): FlatState {
  return typeof value === 'string' ? value : value.dialing;
}

function pathOf(value: ConnectionStateValue): string {
  return typeof value === 'string' ? value : `dialing.${value.dialing}`;
}

class ConnectionSnapshotImpl {
  readonly status: 'active' | 'done' | 'error' | 'stopped';
  readonly value: ConnectionStateValue;
  readonly context: ConnectionContext;
  readonly output: ConnectionOutput | undefined;
  readonly error: unknown;
  readonly children = NO_CHILDREN;

  constructor(status: ConnectionSnapshotImpl['status'], value: ConnectionStateValue, context: ConnectionContext,
    output: ConnectionOutput | undefined, error: unknown) {
    this.status = status;
    this.value = value;
    this.context = context;
    this.output = output;
    this.error = error;
  }

  matches(state: ConnectionStatePath | ConnectionStateValue): boolean {
    const want = typeof state === 'string' ? state : pathOf(state);
    const have = pathOf(this.value);
    return have === want || have.startsWith(`${want}.`);
  }
}

/** An active snapshot in `value`. */
export function activeSnapshot(value: ConnectionStateValue, context: ConnectionContext): ConnectionSnapshot {
  return new ConnectionSnapshotImpl('active', value, context, undefined, undefined) as ConnectionSnapshot;
}

/** A final snapshot (`dead` or `closed`) with the actor's output. */
export function doneSnapshot(value: 'dead' | 'closed', context: ConnectionContext, output: ConnectionOutput): ConnectionSnapshot {
  return new ConnectionSnapshotImpl('done', value, context, output, undefined) as ConnectionSnapshot;
}

/** The same state, stopped from outside (XState's `xstate.stop`). */
export function stoppedSnapshot(from: ConnectionSnapshot): ConnectionSnapshot {
  return new ConnectionSnapshotImpl('stopped', from.value, from.context, undefined, undefined) as ConnectionSnapshot;
}

/** Plain data for `getPersistedSnapshot` (JSON-safe; no prototype). */
export function persistedSnapshot(s: ConnectionSnapshot): Snapshot<ConnectionOutput> & { value: ConnectionStateValue; context: ConnectionContext } {
  return { status: s.status, value: s.value, context: s.context, output: s.output, error: s.error } as Snapshot<ConnectionOutput> & {
    value: ConnectionStateValue; context: ConnectionContext;
  };
}
