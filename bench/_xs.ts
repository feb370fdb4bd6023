import { createActor, setup, assign } from 'xstate';
const variant = process.argv[2] ?? 'bare';
const ctx = { a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0, i: 0, j: 0, k: 0, l: 0, m: 0, n: 0, o: 0, p: 0, q: 0 };
const m = setup({ types: {} as { context: typeof ctx; events: { type: 'A' } | { type: 'B' } } }).createMachine({
  context: ctx,
  initial: 'ready',
  states: variant === 'bare' ? {
    ready: { on: { A: 'probing' } },
    probing: { on: { B: 'ready' } },
  } : variant === 'assign1' ? {
    ready: { on: { A: { target: 'probing', actions: assign(({ context }) => ({ a: context.a + 1, b: 1 })) } } },
    probing: { on: { B: { target: 'ready', actions: assign(({ context }) => ({ c: context.c + 1, d: 2 })) } } },
  } : {
    ready: { entry: [assign(({ context }) => ({ a: context.a + 1 })), () => {}], exit: () => {}, on: { A: { target: 'probing' } } },
    probing: { entry: [assign(({ context }) => ({ a: context.a + 1 })), () => {}], exit: () => {}, on: { B: { target: 'ready', actions: assign(({ context }) => ({ c: context.c + 1, d: 2 })) } } },
  },
});
const actor = createActor(m); actor.start();
actor.subscribe({ next: () => {} });
const A = { type: 'A' } as const, B = { type: 'B' } as const;
const N = 200000;
for (let r = 0; r < 6; r++) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) { actor.send(A); actor.send(B); }
  const t = process.cpuUsage(t0);
  console.log(variant, ((t.user + t.system) / N).toFixed(2), 'µs per cycle');
}
