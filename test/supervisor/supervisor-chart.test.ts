/**
 * The supervisor's published statechart (supervisor-chart.ts) against what supervisors do:
 * every phase change a real supervisor makes (recorded from inspection events, as the
 * Stately inspector sees them) is an edge of the chart, and every edge of the chart is
 * taken by some run below.
 */
import { expect, test } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { supervisorChart } from '../../src/supervisor/supervisor-chart.js';
import { supervisorLogic } from '../../src/supervisor/supervisor-logic.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

type StateKey = keyof typeof supervisorChart.states;

/** A state node of the chart (every key exists: the chart is fixed). */
const node = (state: StateKey) => supervisorChart.states[state]!;

interface Step {
  readonly from: string;
  readonly event: string;
  readonly to: string;
}

/** The chart's descriptor that an event matches (`xstate.done.actor.a` → `xstate.done.actor.*`). */
function descriptorOf(state: StateKey, event: string): string | undefined {
  for (const d of node(state).transitions.keys()) {
    if (d === event || (d.endsWith('.*') && event.startsWith(d.slice(0, -1)))) return d;
  }
  return undefined;
}

/** Where `always` goes from a state (guarded: it may or may not be taken). */
function alwaysTarget(state: StateKey): StateKey | undefined {
  return node(state).always?.[0]?.target?.[0]?.key as StateKey | undefined;
}

/** Every edge of the chart as `from --descriptor--> to` (`always` for eventless ones). */
function chartEdges(): Set<string> {
  const edges = new Set<string>();
  for (const [key, node] of Object.entries(supervisorChart.states)) {
    for (const [d, candidates] of node.transitions) {
      for (const t of candidates) edges.add(`${key} --${d}--> ${t.target?.[0]?.key ?? key}`);
    }
    const always = alwaysTarget(key as StateKey);
    if (always) edges.add(`${key} --always--> ${always}`);
  }
  return edges;
}

/** The chart edges that explain one observed step, or undefined when the chart has none. */
function explain(step: Step): string[] | undefined {
  const from = step.from as StateKey;
  const d = descriptorOf(from, step.event);
  if (d === undefined) return step.to === step.from ? [] : undefined; // an event the phase ignores
  for (const t of node(from).transitions.get(d)!) {
    const target = (t.target?.[0]?.key ?? from) as StateKey;
    const edge = `${from} --${d}--> ${target}`;
    if (target === step.to) return [edge];
    const next = alwaysTarget(target);
    if (next === step.to) return [edge, `${target} --always--> ${next}`];
  }
  return undefined;
}

/** Records each supervisor's phase steps from inspection events. */
function stepRecorder(): { observe(e: InspectionEvent): void; steps: Step[] } {
  const phase = new Map<AnyActorRef, string>();
  const steps: Step[] = [];
  return {
    steps,
    observe(e) {
      const ref = e.actorRef as AnyActorRef & { logic: unknown };
      if (ref.logic !== supervisorLogic) return;
      // Announced while it initialises (its snapshot cannot be read yet): in the initial phase.
      if (e.type === '@xstate.actor') phase.set(ref, supervisorChart.config.initial as string);
      if (e.type !== '@xstate.snapshot') return;
      const { type } = e.event;
      const to = (e.snapshot as unknown as { value: string }).value;
      // XState's own start and forced stop apply to every actor and are not drawn.
      if (type !== 'xstate.init' && type !== 'xstate.stop') steps.push({ from: phase.get(ref)!, event: type, to });
      phase.set(ref, to);
    },
  };
}

test('every phase change of a supervisor is an edge of its chart, and every edge is taken', async () => {
  const rec = stepRecorder();
  const v = virtualRuntime({ inspect: (e) => rec.observe(e) });
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
    expect(edges, `${step.from} --${step.event}--> ${step.to} is not in the chart`).toBeDefined();
    for (const e of edges!) taken.add(e);
  }
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
