/**
 * One connection actor on a fresh `VirtualTimeScheduler`, with the fake transport and
 * protocol, plus the time helpers every actor test uses.
 *
 * `advanceTo(ms)` runs the due scheduler actions one at a time and lets promise
 * continuations settle between them (`setImmediate` after the microtask queue, not a
 * sleep), so a probe reply scheduled before its timeout is seen first, as in real time.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { createActor, type Actor, type InspectionEvent } from 'xstate';
import { connectionMachine } from '../../../src/actors/connection-machine.js';
import type { ConnectionInput, HeartbeatInput } from '../../../src/actors/connection-types.js';
import { connectionState } from '../../../src/actors/live-connection.js';
import { FakeProtocol, type FakeProtocolOptions } from './fake-protocol.js';
import { FakeTransport, type FakeTransportOptions } from './fake-transport.js';

export type ConnectionActor = Actor<typeof connectionMachine>;

/** Lets microtasks and nextTicks run (promise chains, stream events). Not a sleep. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

export async function advanceTo(vts: VirtualTimeScheduler, targetMs: number): Promise<void> {
  await settle();
  for (;;) {
    const next = vts.actions[0];
    if (next === undefined || next.delay > targetMs) break;
    vts.maxFrames = next.delay;
    vts.flush();
    await settle();
  }
  vts.frame = Math.max(vts.frame, targetMs);
  vts.maxFrames = Number.POSITIVE_INFINITY;
}

export interface VirtualConnection {
  readonly vts: VirtualTimeScheduler;
  readonly transport: FakeTransport;
  readonly protocol: FakeProtocol;
  readonly actor: ConnectionActor;
  /** Every state the actor went through, in order (`dialing` counted once). */
  readonly states: string[];
  /** Errors reported by the actor (should stay empty). */
  readonly errors: unknown[];
  advanceTo(ms: number): Promise<void>;
  advanceBy(ms: number): Promise<void>;
  state(): string;
  /** Settles, then runs the next due scheduler action(s); returns the new time. */
  step(): Promise<number>;
  /** Runs virtual time until the actor is in `state` (or `limitMs` passes); returns the time. */
  runUntil(state: string, limitMs?: number): Promise<number>;
}

export interface VirtualConnectionOptions {
  readonly transport?: Omit<FakeTransportOptions, 'scheduler'>;
  readonly protocol?: Omit<FakeProtocolOptions, 'scheduler'>;
  readonly heartbeat?: HeartbeatInput;
  readonly input?: Partial<ConnectionInput>;
  readonly random?: () => number;
  readonly loadSource?: () => number;
  /** Don't start the actor. */
  readonly noStart?: boolean;
  /** XState inspection observer for the actor. */
  readonly inspect?: (event: InspectionEvent) => void;
}

export function virtualConnection(options: VirtualConnectionOptions = {}): VirtualConnection {
  const vts = new VirtualTimeScheduler();
  const transport = new FakeTransport({ scheduler: vts, ...options.transport });
  const protocol = new FakeProtocol({ scheduler: vts, ...options.protocol });
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol,
      transport,
      scheduler: vts,
      random: options.random ?? (() => 0.5),
      loadSource: options.loadSource ?? (() => 0),
      heartbeat: options.heartbeat,
      ...options.input,
    },
    inspect: options.inspect,
  });
  const states: string[] = [];
  const errors: unknown[] = [];
  actor.subscribe({
    next: (s) => {
      const st = connectionState(s);
      if (states.at(-1) !== st) states.push(st);
    },
    error: (e) => errors.push(e),
  });
  if (!options.noStart) actor.start();
  return {
    vts, transport, protocol, actor, states, errors,
    advanceTo: (ms) => advanceTo(vts, ms),
    advanceBy: (ms) => advanceTo(vts, vts.frame + ms),
    state: () => connectionState(actor.getSnapshot()),
    async step() {
      await settle();
      const next = vts.actions[0];
      if (next === undefined) throw new Error(`nothing scheduled (in ${connectionState(actor.getSnapshot())} at ${vts.frame})`);
      await advanceTo(vts, next.delay);
      return vts.frame;
    },
    async runUntil(state, limitMs = 1_000_000) {
      await settle();
      while (connectionState(actor.getSnapshot()) !== state) {
        const next = vts.actions[0];
        if (next === undefined || next.delay > limitMs) throw new Error(`never reached ${state} (in ${connectionState(actor.getSnapshot())} at ${vts.frame})`);
        await advanceTo(vts, next.delay);
      }
      return vts.frame;
    },
  };
}
