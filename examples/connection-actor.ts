/**
 * The connection actor against a real wire server on 127.0.0.1, in real time:
 *
 * 1. dial (default `tcp()` transport) + HELLO with a token → `ready`; a request goes through
 *    the leased session (`liveConnection(ref).session`), never through the actor;
 * 2. idle → the heartbeat probes (PING/PONG) and records the RTT;
 * 3. the server freezes (sockets open, nothing answered) → `probing` → `suspect` → `dead`
 *    with `heartbeat-timeout`, within `intervalMs + (1 + suspectProbes) × maxTimeoutMs`;
 * 4. a second connection is closed gracefully → `closed`;
 * 5. the model: what a KILL or a failed probe would do to a live connection, computed by
 *    XState's pure `getNextSnapshot`/`transition` (nothing runs), and every state's
 *    shortest path from `xstate/graph` on `connectionModel`.
 *
 * Run: `npx tsx examples/connection-actor.ts`
 */
import { createActor, getNextSnapshot, transition } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  connectionMachine, connectionModel, connectionState, createWireServer, liveConnection, wire, type ConnectionEvent, type WireSession,
} from 'wirewarden';

const token = 'example-token'; // in real code: from the environment; never in snapshots or logs

const server = createWireServer({ token, handler: (payload) => ({ echo: payload }) });
const { port } = (await server.listen()) as { host: string; port: number };
console.log(`wire server on 127.0.0.1:${port}`);

function connect(name: string) {
  const started = Date.now();
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port },
      protocol: wire({ token }),
      heartbeat: { intervalMs: 300, minTimeoutMs: 50, maxTimeoutMs: 200, suspectProbes: 2 },
    },
  });
  let last = '';
  actor.subscribe({
    next: (snapshot) => {
      const state = connectionState(snapshot);
      if (state === last) return;
      last = state;
      const { rttMs, probeTimeoutMs } = snapshot.context;
      console.log(`${name} +${String(Date.now() - started).padStart(4)} ms  ${state.padEnd(8)} rtt=${rttMs ?? '-'} ms rto=${probeTimeoutMs} ms`);
    },
    error: (err) => console.error(`${name} failed`, err),
  });
  return actor.start();
}

function until(actor: ReturnType<typeof connect>, test: (state: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (test(connectionState(actor.getSnapshot()))) return resolve();
    const sub = actor.subscribe((s) => {
      if (test(connectionState(s))) {
        sub.unsubscribe();
        resolve();
      }
    });
  });
}

const a = connect('conn-a');
await until(a, (s) => s === 'ready');
const session = liveConnection<WireSession>(a)!.session!;
console.log('request →', await session.request('hello'));

// Idle for a while: the heartbeat probes and measures the RTT.
await new Promise((r) => setTimeout(r, 1000));
console.log(`conn-a probes sent: ${a.getSnapshot().context.probesSent}, srtt ${a.getSnapshot().context.srttMs?.toFixed(2)} ms`);

// Freeze the peer: no byte comes back, the sockets stay open.
const frozenAt = Date.now();
server.freeze();
await until(a, (s) => s === 'dead');
console.log(`conn-a dead after ${Date.now() - frozenAt} ms:`, a.getSnapshot().output?.reason, '-', a.getSnapshot().output?.error?.message);
server.thaw();

// A graceful close: protocol.close (GOAWAY, drain), then the socket is destroyed.
const b = connect('conn-b');
await until(b, (s) => s === 'ready');

// The model: XState's pure tools on the live connection's snapshot. Nothing runs.
const ready = b.getSnapshot();
const killed = getNextSnapshot(connectionMachine, ready, { type: 'KILL', reason: 'max-lifetime' });
console.log(`a KILL would make conn-b ${String(killed.value)} (${killed.output?.reason}); it is still ${connectionState(b.getSnapshot())}`);
const probing = getNextSnapshot(connectionMachine, ready, { type: 'ww.heartbeat.idle' });
const failed = { type: 'ww.probe.failed', silentMs: 300, windowMs: 600 } as const;
const [suspect, effects] = transition(connectionMachine, probing, failed);
console.log(`a probe failing 300 ms into a 600 ms window → ${String(suspect.value)}, effects ${JSON.stringify((effects as { type: string; params?: unknown }[]).map((e) => ({ type: e.type, params: e.params })))}`);
console.log(`… 600 ms into it → ${String(getNextSnapshot(connectionMachine, probing, { ...failed, silentMs: 600 }).value)}`);
const events: ConnectionEvent[] = [
  { type: 'ww.dial.done' }, { type: 'ww.handshake.done' }, { type: 'ww.heartbeat.idle' }, failed, { ...failed, silentMs: 600 },
  { type: 'ww.probe.ok', rttMs: 1 }, { type: 'CLOSE' }, { type: 'ww.close.done' },
];
const paths = getShortestPaths(connectionModel, {
  input: { endpoint: { host: '127.0.0.1', port }, protocol: wire({ token }) },
  events,
  serializeState: (s) => JSON.stringify(s.value),
});
for (const p of paths) console.log(`  ${JSON.stringify(p.state.value).padEnd(28)} ← ${p.steps.slice(1).map((s) => s.event.type).join(' → ') || '(start)'}`);

b.send({ type: 'CLOSE' });
await until(b, (s) => s === 'closed');
console.log('conn-b output:', b.getSnapshot().output);
console.log('snapshot has no token:', !JSON.stringify(b.getSnapshot()).includes(token));

await server.close();
