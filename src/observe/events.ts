/**
 * The runtime's typed event stream: supervision and state changes, never data-path
 * traffic (a connection emits on state changes only, so listeners cost nothing per frame).
 *
 * Producers (supervisors, the runtime, later pools) find the sink of their actor system
 * with `eventSinkOf(self.system)` — like `servicesOf`, so no actor carries it in context.
 * Every producer checks `sink.active` before building an event: with no `events$`
 * subscriber and no diagnostics_channel subscriber an event is never allocated.
 * `EventBus` fans out to an RxJS `Subject` (`runtime.events$`) and to the
 * `wirewarden:event` channel.
 *
 * Paths name a child by its place in the tree: `root/pool-1/conn-3`.
 *
 * @example
 * rt.events$.pipe(filter((e) => e.type === 'restart')).subscribe((e) => log(e.path, e.delayMs));
 */
import { type Observable, Subject } from 'rxjs';
import type { ActorSystem } from 'xstate';
import type { PoolEvent } from '../pool/pool-events.js';
import { eventChannelActive, publishEvent } from './diagnostics.js';

/** A child (or the root) changed its top-level state. */
export interface StateEvent {
  readonly type: 'state';
  readonly id: string;
  readonly path: string;
  /** `'starting'` for a child's very first state. */
  readonly from: string;
  readonly to: string;
  readonly at: number;
  /** Why, when known: a final state's output reason, or the exit behind `restarting`. */
  readonly reason?: string;
}

/** A supervisor decided to restart a child after `delayMs`. */
export interface RestartEvent {
  readonly type: 'restart';
  readonly id: string;
  readonly path: string;
  /** The backoff attempt (1-based; resets after the child stayed up `resetAfterMs`). */
  readonly attempt: number;
  readonly delayMs: number;
  readonly at: number;
  /** The exit reason of the child that triggered the restart. */
  readonly reason: string;
  /** Set when this child restarts because a sibling exited (one-for-all, rest-for-one). */
  readonly trigger?: string;
}

/** A child incarnation ended (any way: exit, crash, stop, forced). */
export interface ChildExitEvent {
  readonly type: 'child-exit';
  readonly id: string;
  readonly path: string;
  readonly reason: string;
  readonly normal: boolean;
  readonly at: number;
  readonly error?: unknown;
}

/** A supervisor exceeded its restart intensity and fails towards its parent. */
export interface EscalationEvent {
  readonly type: 'escalation';
  /** The supervisor that gives up. */
  readonly id: string;
  readonly path: string;
  readonly reason: 'restart-intensity';
  /** The child whose exit exceeded the intensity. */
  readonly child: string;
  /** Restarts inside the window, including the one refused. */
  readonly restarts: number;
  readonly at: number;
  readonly error: Error;
}

/** The runtime finished `shutdown()`. */
export interface ShutdownEvent {
  readonly type: 'shutdown';
  readonly at: number;
}

/** The root supervisor failed; `rt.done` rejects with `error`. */
export interface RuntimeFailedEvent {
  readonly type: 'runtime-failed';
  readonly error: unknown;
  readonly at: number;
}

/** A pool event (docs/pool.md), routed from `pool.events$` of a pool made by `rt.createPool`. */
export interface PoolRuntimeEvent {
  readonly type: 'pool';
  /** The pool's id (its supervisor's id). */
  readonly id: string;
  /** The pool supervisor's path, `root/pool-1`. */
  readonly path: string;
  readonly event: PoolEvent;
  readonly at: number;
}

/**
 * The trace that was active when an event was emitted (OpenTelemetry tracing on, and a
 * span recording: docs/observability.md), so a slow request's trace leads to the
 * connection's events and back. Absent otherwise.
 */
export interface EventTrace {
  readonly traceId?: string;
  readonly spanId?: string;
}

export type RuntimeEvent = (
  | StateEvent
  | RestartEvent
  | ChildExitEvent
  | EscalationEvent
  | ShutdownEvent
  | RuntimeFailedEvent
  | PoolRuntimeEvent
) & EventTrace;

/** Where producers send events. Check `active` before building one. */
export interface EventSink {
  readonly active: boolean;
  emit(event: RuntimeEvent): void;
}

/** A sink that drops everything (actors running outside a runtime). */
export const nullEventSink: EventSink = Object.freeze({ active: false, emit() {} });

/** `runtime.events$` plus the `wirewarden:event` diagnostics channel. */
export class EventBus implements EventSink {
  readonly #subject = new Subject<RuntimeEvent>();
  readonly events$: Observable<RuntimeEvent> = this.#subject.asObservable();
  #completed = false;
  /** Set while tracing is on (src/observe/otel-tracing.ts): adds the active trace to an event. */
  stamp: ((event: RuntimeEvent) => RuntimeEvent) | undefined = undefined;

  get active(): boolean {
    return !this.#completed && (this.#subject.observed || eventChannelActive());
  }

  emit(event: RuntimeEvent): void {
    if (this.#completed) return;
    const stamped = this.stamp === undefined ? event : this.stamp(event);
    this.#subject.next(stamped);
    publishEvent(stamped);
  }

  /** Completes `events$`; later emits are dropped. */
  complete(): void {
    this.#completed = true;
    this.#subject.complete();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any system of any runtime
type AnySystem = ActorSystem<any>;

const sinks = new WeakMap<AnySystem, EventSink>();

export function bindEventSink(system: AnySystem, sink: EventSink): void {
  sinks.set(system, sink);
}

export function eventSinkOf(system: AnySystem | undefined): EventSink {
  return (system && sinks.get(system)) ?? nullEventSink;
}
