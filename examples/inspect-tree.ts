/**
 * Watching a runtime's actors as the Stately inspector sees them, without the inspector:
 * `rt.inspect(observer)` attaches any XState inspection observer on demand, announces
 * the actors that already exist (parents first), then streams new actors and snapshots.
 * Here the observer prints the supervision tree and each connection's state changes.
 *
 *   npx tsx examples/inspect-tree.ts
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { connectionMachine, createRuntime, createWireServer, wire } from 'wirewarden';

const server = createWireServer({ handler: (req) => req });
const { port } = (await server.listen()) as { port: number };
const rt = createRuntime();

const conns = rt.createSupervisor({
  id: 'conns',
  children: ['a', 'b'].map((id) => ({
    id,
    logic: connectionMachine,
    input: { endpoint: { host: '127.0.0.1', port }, protocol: wire(), heartbeat: { intervalMs: 200 } },
  })),
});
await conns.whenChildState('a', 'ready');

// Attach while running (inspection costs CPU per event: attach only while you look).
const lastState = new Map<string, unknown>();
const sub = rt.inspect((e: InspectionEvent) => {
  const ref = e.actorRef as AnyActorRef;
  if (e.type === '@xstate.actor') {
    console.log(`actor   ${ref._parent?.id ?? '(root)'} → ${ref.id}`);
  } else if (e.type === '@xstate.snapshot') {
    const value = (e.snapshot as { value?: unknown }).value;
    if (lastState.get(ref.sessionId) !== value) {
      lastState.set(ref.sessionId, value);
      console.log(`state   ${ref.id}: ${JSON.stringify(value)}`);
    }
  }
});

await new Promise((r) => setTimeout(r, 700)); // a few heartbeats: ready ⇄ probing
sub.unsubscribe();
await rt.shutdown();
await server.close();
