/**
 * The storm's wire server, in its own process (started by `forkStormServer`). It listens
 * on `WW_STORM_PORT` at the wall-clock instant `WW_STORM_LISTEN_AT` (epoch ms) and reports
 * that instant over IPC. The replacement server is forked *before* the old one is killed:
 * its start-up (~0.4 s of loading) then overlaps the outage, and its return does not wait
 * for a parent whose event loop is saturated by ten thousand failing dials. It exits when
 * the parent goes away, so it can never outlive the benchmark.
 */
import { createWireServer } from '../../src/transport/wire-server.js';

const port = Number(process.env.WW_STORM_PORT);
const listenAt = Number(process.env.WW_STORM_LISTEN_AT ?? 0);
const server = createWireServer({ host: '127.0.0.1', port, handler: (payload) => payload });

setTimeout(() => {
  server.listen().then(
    () => process.send?.({ type: 'listening', at: performance.timeOrigin + performance.now() }),
    (err: unknown) => {
      process.send?.({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    },
  );
}, Math.max(0, listenAt - Date.now()));

process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'stop') void server.close({ graceful: false }).then(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
