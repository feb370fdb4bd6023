import { createActor, fromTransition } from 'xstate';
const ctx0 = { value: 'ready', a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0, i: 0, j: 0, k: 0, l: 0, m: 0, n: 0, o: 0, p: 0, q: 0 };
const logic = fromTransition((s: typeof ctx0, e: { type: 'A' } | { type: 'B' }) => {
  if (e.type === 'A' && s.value === 'ready') return { ...s, value: 'probing', a: s.a + 1, b: Date.now() };
  if (e.type === 'B' && s.value === 'probing') return { ...s, value: 'ready', c: s.c + 1, b: Date.now() };
  return s;
}, ctx0);
const actor = createActor(logic); actor.start(); actor.subscribe({ next: () => {} }); actor.subscribe({ next: () => {} });
const A = { type: 'A' } as const, B = { type: 'B' } as const; const N = 500000;
for (let r = 0; r < 5; r++) { const t0 = process.cpuUsage(); for (let i = 0; i < N; i++) { actor.send(A); actor.send(B); } const t = process.cpuUsage(t0); console.log('fromTransition', ((t.user + t.system) / N).toFixed(2), 'µs per cycle'); }
