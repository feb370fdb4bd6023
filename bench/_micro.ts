// scratch micro-benchmark (deleted before finishing)
import { createActor } from 'xstate';
import { connectionMachine } from '../src/actors/connection-machine.js';
import { resourcesOf } from '../src/actors/connection-resources.js';
import { PassThrough } from 'node:stream';
import type { SchedulerLike } from 'rxjs';

const noopSub = { unsubscribe() {}, closed: false } as any;
const stubScheduler: SchedulerLike = { now: () => Date.now(), schedule: () => noopSub } as any;
const never = new Promise<void>(() => {});
const protocol = {
  name: 'stub',
  open: async () => ({}),
  probe: () => Promise.resolve(),
  close: async () => {},
};
const transport = { kind: 'stub', dial: async () => new PassThrough() };
const N = Number(process.argv[2] ?? 200000);
const actor = createActor(connectionMachine, { input: { endpoint: { host: '127.0.0.1', port: 1 }, protocol, transport, scheduler: stubScheduler, random: () => 0.5, loadSource: () => 0 } as any });
actor.start();
await new Promise((r) => setTimeout(r, 50));
console.log('state', actor.getSnapshot().value);
const idle = { type: 'ww.heartbeat.idle' } as const;
const mode = process.argv[3] ?? 'full';
async function cycle(n: number) {
  for (let i = 0; i < n; i++) {
    actor.send(idle);
    if (mode === 'full') { await null; await null; await null; }
    else { resourcesOf(actor)!.probeGen++; actor.send({ type: 'ww.probe.ok', rttMs: 0.2 } as any); }
  }
}
await cycle(20000);
for (let r = 0; r < 5; r++) {
  const t0 = process.cpuUsage();
  await cycle(N);
  const t = process.cpuUsage(t0);
  console.log(`${((t.user + t.system) / N).toFixed(2)} µs per ready→probing→ready cycle`);
}
console.log(actor.getSnapshot().value, actor.getSnapshot().context.probesSent);
