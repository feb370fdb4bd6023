/**
 * The measurement behind the shedding defaults (docs/endpoint-health.md): the simulated pool
 * of shedding-simulation.test.ts at twice its capacity for 30 virtual seconds, without
 * shedding and with each queue interval, three seeds each. Not a test: run it with
 * `npx tsx test/pool/health/shedding-sweep.ts` (about a second per run).
 */
import { percentile, runQueue } from './simulated-queue.js';

const base = { connections: 10, meanServiceMs: 10, load: 2, durationMs: 30_000 };
const ms = (v: number) => v.toFixed(1);
const none = runQueue(base);
const third = Math.floor(none.waits.length / 3);
console.log(`no shedding: p99 ${ms(percentile(none.waits, 99))}, first 10 s p99 ${ms(percentile(none.waits.subarray(0, third), 99))}, `
  + `last 10 s p99 ${ms(percentile(none.waits.subarray(2 * third), 99))}, max queue ${none.maxQueue}, served ${none.served}`);
for (const queueIntervalMs of [100, 250, 500, 1000, 2000]) {
  for (const seed of [1, 2, 3]) {
    const r = runQueue({ ...base, seed, shedding: { queueTargetMs: 50, queueIntervalMs } });
    console.log(`target 50, interval ${queueIntervalMs}, seed ${seed}: p99 ${ms(percentile(r.waits, 99))} p50 ${ms(percentile(r.waits, 50))} `
      + `max ${ms(percentile(r.waits, 100))}, served ${r.served}, refused at once ${r.rejected}, dropped ${r.dropped}, mode changes ${r.modeChanges}`);
  }
}
for (const load of [0.9, 1.2, 4]) {
  for (const shed of [false, true]) {
    const r = runQueue({ ...base, load, seed: 7, ...(shed ? { shedding: { queueTargetMs: 50, queueIntervalMs: 250 } } : {}) });
    console.log(`load ${load}x ${shed ? 'with' : 'without'} shedding: p99 ${ms(percentile(r.waits, 99))}, served ${r.served} of ${r.offered}, `
      + `refused ${r.rejected}, dropped ${r.dropped}`);
  }
}
