/**
 * Full against phased jitter in a reconnect storm, in virtual time: 1000 supervised
 * children lose their server together, it is back after 1 s, and each child's first
 * successful dial is counted per 100 ms. Full jitter front-loads the recovery (the time
 * left of a uniform delay is more often short); phased jitter — one phase per child,
 * attempt k at that phase of its k-th window — comes back at a flat rate.
 *
 *   npx tsx examples/backoff.ts
 */
import { VirtualTimeScheduler } from 'rxjs';
import { setup } from 'xstate';
import { createRuntime, exponentialBackoff, type Jitter } from 'wirewarden';
import { seededRandom } from 'wirewarden/chaos';

const server = { up: true };

/** Connects at once while the server is up; otherwise dies at once, as a refused dial. */
const dialer = setup({ guards: { up: () => server.up } }).createMachine({
  initial: 'dialing',
  output: { reason: 'dial-failed' },
  states: {
    dialing: { always: [{ guard: 'up', target: 'ready' }, { target: 'refused' }] },
    ready: { on: { SERVER_GONE: 'refused', CLOSE: 'closed' } },
    refused: { type: 'final' },
    closed: { type: 'final' },
  },
});

/** Dial instants (ms after the server came back) of each child's first successful dial. */
async function storm(jitter: Jitter): Promise<number[]> {
  const vts = new VirtualTimeScheduler();
  const rt = createRuntime({ scheduler: vts, random: seededRandom(7) });
  const backoff = exponentialBackoff({ initialMs: 100, maxMs: 2000, multiplier: 2, jitter });
  const sup = rt.createSupervisor({
    id: 'conns', maxRestarts: Number.POSITIVE_INFINITY,
    children: Array.from({ length: 1000 }, (_, i) => ({ id: `c${i}`, logic: dialer, backoff })),
  });
  const runUntil = (ms: number) => {
    vts.maxFrames = ms;
    vts.flush();
    vts.frame = ms;
  };
  server.up = false; // the server is killed: every connection dies at t = 0
  for (let i = 0; i < 1000; i++) sup.childRef(`c${i}`)!.send({ type: 'SERVER_GONE' });
  runUntil(1000);
  server.up = true; // back at t = 1000: each child's next dial succeeds
  const dials: number[] = [];
  rt.events$.subscribe((e) => {
    if (e.type === 'state' && e.to === 'ready') dials.push(e.at - 1000);
  });
  runUntil(5000);
  const done = rt.shutdown();
  vts.maxFrames = Number.POSITIVE_INFINITY;
  vts.flush();
  await done;
  return dials;
}

for (const jitter of ['full', 'phased'] as const) {
  const dials = await storm(jitter);
  const spanMs = Math.max(...dials);
  const buckets = new Array<number>(Math.ceil(spanMs / 100)).fill(0);
  for (const t of dials) buckets[Math.min(buckets.length - 1, Math.floor(t / 100))]!++;
  const mean = dials.length / (spanMs / 100);
  console.log(`${jitter.padEnd(6)} dials per 100 ms after the restart: ${buckets.join(' ')}`);
  console.log(`${''.padEnd(6)} all ${dials.length} back within ${spanMs} ms, peak/mean ${(Math.max(...buckets) / mean).toFixed(2)}`);
}
