/**
 * The supervisor's published statechart (supervisor-chart.ts) against what supervisors do:
 * every phase change a real supervisor makes (recorded from inspection events, as the
 * Stately inspector sees them) is an edge of the chart, and every edge of the chart is
 * taken by some run below. An edge is keyed by its guard too: a child exit in `running`
 * has four transitions, three of them back to `running`, and which one a supervisor took
 * is read from what it did (the runtime's child-exit, restart, escalation and state events
 * of that step, and its child counts), so a chart that sends `notRestarted` elsewhere fails.
 */
import { expect, test } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { RuntimeEvent } from '../../src/observe/events.js';
import { supervisorChart } from '../../src/supervisor/supervisor-chart.js';
import { supervisorLogic } from '../../src/supervisor/supervisor-logic.js';
import type { SupervisorContext } from '../../src/supervisor/supervisor-types.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

type StateKey = keyof typeof supervisorChart.states;

/** A state node of the chart (every key exists: the chart is fixed). */
const node = (state: StateKey) => supervisorChart.states[state]!;

interface Step {
  readonly from: string;
  readonly event: string;
  readonly to: string;
  /** The guard of the transition taken, when the step is a child exit in `running` (undefined: the unguarded one). */
  readonly guard?: string;
}

/** A transition's guard name (the chart names them; it implements none). */
const guardName = (t: { guard?: unknown }): string | undefined => (typeof t.guard === 'string' ? t.guard : undefined);

const edgeKey = (from: string, descriptor: string, guard: string | undefined, to: string) =>
  `${from} --${descriptor}${guard === undefined ? '' : ` [${guard}]`}--> ${to}`;

/** The chart's descriptor that an event matches (`xstate.done.actor.a` → `xstate.done.actor.*`). */
function descriptorOf(state: StateKey, event: string): string | undefined {
  for (const d of node(state).transitions.keys()) {
    if (d === event || (d.endsWith('.*') && event.startsWith(d.slice(0, -1)))) return d;
  }
  return undefined;
}

/** Where `always` goes from a state, and under which guard (it may or may not be taken). */
function alwaysOf(state: StateKey): { target: StateKey; guard: string | undefined } | undefined {
  const t = node(state).always?.[0];
  const target = t?.target?.[0]?.key as StateKey | undefined;
  return t && target ? { target, guard: guardName(t) } : undefined;
}

/** Every edge of the chart as `from --descriptor [guard]--> to` (`always` for eventless ones). */
function chartEdges(): Set<string> {
  const edges = new Set<string>();
  for (const [key, node] of Object.entries(supervisorChart.states)) {
    for (const [d, candidates] of node.transitions) {
      for (const t of candidates) edges.add(edgeKey(key, d, guardName(t), t.target?.[0]?.key ?? key));
    }
    const always = alwaysOf(key as StateKey);
    if (always) edges.add(edgeKey(key, 'always', always.guard, always.target));
  }
  return edges;
}

/** The chart edges that explain one observed step, or undefined when the chart has none. */
function explain(step: Step): string[] | undefined {
  const from = step.from as StateKey;
  const d = descriptorOf(from, step.event);
  if (d === undefined) return step.to === step.from ? [] : undefined; // an event the phase ignores
  // The transition with the guard the supervisor applied (none for unguarded events).
  const t = node(from).transitions.get(d)!.find((c) => guardName(c) === step.guard);
  if (t === undefined) return undefined;
  const target = (t.target?.[0]?.key ?? from) as StateKey;
  const edge = edgeKey(from, d, step.guard, target);
  if (target === step.to) return [edge];
  const always = alwaysOf(target);
  if (always?.target === step.to) return [edge, edgeKey(target, 'always', always.guard, always.target)];
  return undefined;
}

const CHILD_EXIT = /^xstate\.(?:done|error)\.actor\.(.+)$/;

/**
 * Which of the child-exit transitions in `running` a supervisor took, from what it did in
 * that step: `events` are the runtime events of the step, `before` its child counts before.
 */
function guardOfExit(event: string, context: SupervisorContext, before: SupervisorContext['childCounts'], events: readonly RuntimeEvent[]): string | undefined {
  const id = CHILD_EXIT.exec(event)![1]!;
  const path = `${context.path}/${id}`;
  if (events.some((e) => e.type === 'escalation' && e.path === context.path && e.child === id)) return 'intensityExceeded';
  if (events.some((e) => e.type === 'restart' && e.path === path && e.trigger === undefined)) return undefined; // restarted
  const exitAt = events.findIndex((e) => e.type === 'child-exit' && e.path === path);
  if (exitAt < 0) return 'exitExpected'; // an older incarnation's event: no incarnation ended
  // It waits in a restart group (stopped by a sibling's restart): 'restarting' right after its exit.
  if (events.slice(exitAt).some((e) => e.type === 'state' && e.path === path && e.to === 'restarting')) return 'exitExpected';
  if (context.childCounts.stopping < before.stopping) return 'exitExpected'; // it was being stopped
  return 'notRestarted';
}

/** Records each supervisor's phase steps from inspection events, with the runtime events between them. */
function stepRecorder(events: readonly RuntimeEvent[]): { observe(e: InspectionEvent): void; steps: Step[] } {
  const last = new Map<AnyActorRef, { phase: string; eventsSeen: number; counts?: SupervisorContext['childCounts'] }>();
  const steps: Step[] = [];
  return {
    steps,
    observe(e) {
      const ref = e.actorRef as AnyActorRef & { logic: unknown };
      if (ref.logic !== supervisorLogic) return;
      // Announced while it initialises (its snapshot cannot be read yet): in the initial phase.
      if (e.type === '@xstate.actor') last.set(ref, { phase: supervisorChart.config.initial as string, eventsSeen: events.length });
      if (e.type !== '@xstate.snapshot') return;
      const { type } = e.event;
      const snapshot = e.snapshot as unknown as { value: string; context: SupervisorContext };
      const before = last.get(ref)!;
      // XState's own start and forced stop apply to every actor and are not drawn.
      if (type !== 'xstate.init' && type !== 'xstate.stop') {
        const guard = before.phase === 'running' && CHILD_EXIT.test(type)
          ? guardOfExit(type, snapshot.context, before.counts!, events.slice(before.eventsSeen))
          : undefined;
        steps.push({ from: before.phase, event: type, to: snapshot.value, ...(guard === undefined ? {} : { guard }) });
      }
      last.set(ref, { phase: snapshot.value, eventsSeen: events.length, counts: snapshot.context.childCounts });
    },
  };
}

test('every phase change of a supervisor is an edge of its chart, and every edge is taken', async () => {
  const events: RuntimeEvent[] = [];
  const rec = stepRecorder(events);
  const v = virtualRuntime({ inspect: (e) => rec.observe(e) });
  v.rt.events$.subscribe((e) => events.push(e));
  const slow = (closeMs: number) => ({ logic: workerMachine, input: { closeMs } });
  const rejected = (p: Promise<void>) => p.catch(() => 'rejected');

  // Restarts, removals, requests, then a failure by intensity while two children close slowly.
  const a = v.rt.createSupervisor({
    id: 'a', maxRestarts: 1, withinMs: 60_000,
    children: [
      { id: 'w', logic: workerMachine },
      { id: 't', logic: workerMachine, restart: 'temporary' },
      { id: 'slow', ...slow(100) }, { id: 'slower', ...slow(200) },
      { id: 'stubborn', logic: workerMachine, input: { ignoreClose: true }, shutdownMs: 50 },
    ],
  }, { restart: 'temporary' });
  a.startChild({ id: 'extra', ...slow(10) });                   // START_CHILD
  a.childRef('t')!.send({ type: 'FINISH' });                     // done [notRestarted]
  a.childRef('w')!.send({ type: 'DIE' });                        // done: restart group
  v.advance(1000);                                               // TIMER: the group starts
  const terminated = a.terminateChild('extra');                  // TERMINATE_CHILD
  v.advance(10);                                                 // done [exitExpected]
  await terminated;
  const restarted = a.restartChild('w');                         // RESTART_CHILD
  v.advance(0);
  await restarted;
  a.childRef('w')!.send({ type: 'CRASH' });                      // error [intensityExceeded] → failing
  const inFailing = [a.terminateChild('slower'), rejected(a.restartChild('stubborn'))];
  v.advance(50);                                                 // TIMER in failing: stubborn forced
  a.childRef('slow')!.send({ type: 'CRASH' });                   // error in failing
  v.advance(200);                                                // done in failing, then failed
  await Promise.all(inFailing);

  // A temporary child crashes; a child crashes while it is being stopped.
  const c = v.rt.createSupervisor({
    id: 'c', children: [{ id: 'tmp', logic: workerMachine, restart: 'temporary' }, { id: 'closing', ...slow(100) }],
  }, { restart: 'temporary' });
  c.childRef('tmp')!.send({ type: 'CRASH' });                    // error [notRestarted]
  const closing = c.terminateChild('closing');
  c.childRef('closing')!.send({ type: 'CRASH' });                // error [exitExpected]
  await closing;

  // A crash within the intensity; then a graceful stop with slow children.
  const b = v.rt.createSupervisor({
    id: 'b', children: [{ id: 'x', ...slow(100) }, { id: 'y', ...slow(300) }, { id: 'z', ...slow(100) },
      { id: 'stubborn', logic: workerMachine, input: { ignoreClose: true }, shutdownMs: 50 }],
  });
  b.childRef('x')!.send({ type: 'CRASH' });                      // error: restart group
  v.advance(1000);
  b.ref!.send({ type: 'CLOSE' });                                // CLOSE → stopping
  const inStopping = [b.terminateChild('y'), rejected(b.restartChild('x'))];
  b.childRef('z')!.send({ type: 'CRASH' });                      // error in stopping
  v.advance(50);                                                 // TIMER in stopping
  v.advance(100);                                                // done in stopping
  v.advance(200);                                                // the last one: stopped
  await Promise.all(inStopping);

  // Nothing left to stop: straight through to the final state.
  const empty = v.rt.createSupervisor({ id: 'empty', children: [] }, { restart: 'temporary' });
  empty.ref!.send({ type: 'CLOSE' });
  const fragile = v.rt.createSupervisor({ id: 'fragile', maxRestarts: 0, children: [{ id: 'f', logic: workerMachine }] }, { restart: 'temporary' });
  fragile.childRef('f')!.send({ type: 'DIE' });
  await v.shutdown();

  const taken = new Set<string>();
  for (const step of rec.steps) {
    const edges = explain(step);
    expect(edges, `${edgeKey(step.from, step.event, step.guard, step.to)} is not in the chart`).toBeDefined();
    for (const e of edges!) taken.add(e);
  }
  // The guards read from the runtime's events agree with the restart types: the children
  // forgotten are exactly the temporary ones that exited on their own (t and tmp, and the
  // root's temporary supervisors a, empty and fragile, which ended while the root ran).
  const notRestarted = rec.steps.filter((s) => s.guard === 'notRestarted').map((s) => CHILD_EXIT.exec(s.event)![1]);
  expect(notRestarted.sort()).toEqual(['a', 'empty', 'fragile', 't', 'tmp']);
  expect([...chartEdges()].filter((e) => !taken.has(e))).toEqual([]);
  // The runs above took the edges through the phases a user sees.
  expect(new Set(rec.steps.map((s) => s.to))).toEqual(new Set(['running', 'stopping', 'failing', 'stopped', 'failed']));
});

test('the chart is what the inspector draws for every supervisor: named guards, and the phases as states', () => {
  expect(supervisorLogic.config).toBe(supervisorChart.config);
  const json = JSON.parse(JSON.stringify(supervisorLogic.config)) as {
    id: string; initial: string; states: Record<string, { type?: string; on?: Record<string, unknown>; always?: { guard: string } }>;
  };
  expect(json).toMatchObject({ id: 'supervisor', initial: 'running' });
  expect(Object.keys(json.states)).toEqual(['running', 'stopping', 'failing', 'stopped', 'failed']);
  expect(json.states.stopped!.type).toBe('final');
  expect(json.states.failed!.type).toBe('final');
  const exit = json.states.running!.on!['xstate.done.actor.*'] as { guard?: string; target?: string }[];
  expect(exit.map((t) => t.guard ?? null)).toEqual(['exitExpected', 'notRestarted', 'intensityExceeded', null]);
  expect(exit.find((t) => t.guard === 'intensityExceeded')!.target).toBe('failing');
  expect(json.states.stopping!.always).toMatchObject({ guard: 'allChildrenStopped', target: 'stopped' });
});
