/**
 * `wirewarden inspect [--host 127.0.0.1] [--port 8080]`: a loopback replacement for
 * `@statelyai/inspect/server`'s `createInspectorServer` (which binds all interfaces).
 * Services point `createWebSocketInspector({ url })` at it; a browser opens the printed
 * page. Runs until Ctrl-C (or `signal`), then closes every client.
 */
import { parseArgs } from 'node:util';
import { createInspectorRelay } from './inspector-relay.js';

export const INSPECT_USAGE = `usage: wirewarden inspect [--host 127.0.0.1] [--port 8080]

A relay for Stately's inspector (@statelyai/inspect's WebSocket protocol) on loopback:
services send to it with createWebSocketInspector({ url: 'ws://127.0.0.1:8080' }),
a browser shows them at http://127.0.0.1:8080. Ctrl-C ends it.
  --host   address to bind (default 127.0.0.1; name 0.0.0.0 only on a trusted network)
  --port   port, 0 for any free one (default 8080, as createInspectorServer)
`;

export interface InspectCommandIo {
  readonly write?: (text: string) => void;
  readonly error?: (text: string) => void;
  /** Ends the relay when aborted (default: SIGINT or SIGTERM). */
  readonly signal?: AbortSignal;
}

export async function runInspectCommand(argv: string[], io: InspectCommandIo = {}): Promise<number> {
  const write = io.write ?? ((t: string) => void process.stdout.write(t));
  const error = io.error ?? ((t: string) => void process.stderr.write(t));
  const { values } = parseArgs({
    args: argv,
    options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    write(INSPECT_USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    error(`--port must be an integer in [0, 65535], got ${values.port}\n`);
    return 2;
  }
  const relay = await createInspectorRelay({ host: values.host, port });
  write(`inspector relay on ${relay.wsUrl}\n`);
  write(`  services: rt.inspect(createWebSocketInspector({ url: '${relay.wsUrl}' }).inspect)\n`);
  write(`  browser:  open ${relay.url} (the page loads Stately's UI from stately.ai)\n`);
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  const signal = io.signal ?? ac.signal;
  if (io.signal === undefined) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await relay.close();
  }
  return 0;
}
