/**
 * The connection actor against a real wire server on 127.0.0.1, in real time:
 *
 * 1. dial (default `tcp()` transport) + HELLO with a token → `ready`; a request goes through
 *    the leased session (`liveConnection(ref).session`), never through the actor;
 * 2. idle → the heartbeat probes (PING/PONG) and records the RTT;
 * 3. the server freezes (sockets open, nothing answered) → `probing` → `suspect` → `dead`
 *    with `heartbeat-timeout`, within `intervalMs + (1 + suspectProbes) × maxTimeoutMs`;
 * 4. a second connection is closed gracefully → `closed`.
 *
 * Run: `npx tsx examples/connection-actor.ts`
 */
import { createActor } from 'xstate';
import { connectionMachine, connectionState, createWireServer, liveConnection, wire, type WireSession } from 'wirewarden';

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
b.send({ type: 'CLOSE' });
await until(b, (s) => s === 'closed');
console.log('conn-b output:', b.getSnapshot().output);
console.log('snapshot has no token:', !JSON.stringify(b.getSnapshot()).includes(token));

await server.close();
