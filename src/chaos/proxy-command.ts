/**
 * `wirewarden proxy [--host 127.0.0.1] [--port 8474] [--config file.json]`: serves the
 * Toxiproxy-compatible API, like `toxiproxy-server`, until SIGINT or SIGTERM.
 *
 * Flags accept Go's spellings too (`-host`, `-port`, `-config`, `--port=8474`). The
 * config file is Toxiproxy's: a JSON array of `{ name, listen, upstream, enabled }`,
 * loaded with `/populate` semantics. Unlike toxiproxy-server, which logs a bad config and
 * serves anyway, a bad config stops the command with exit code 1: a chaos run on the
 * wrong proxies is worse than no run.
 */
import { readFile } from 'node:fs/promises';
import { createToxiproxyServer } from './toxiproxy-server.js';
import type { ProxyInput } from './proxy-registry.js';

export interface ProxyCommandIo {
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Stops the command like SIGINT would (for embedding and tests). */
  readonly signal?: AbortSignal;
}

const USAGE = `usage: wirewarden proxy [--host 127.0.0.1] [--port 8474] [--config file.json]

Serves a Toxiproxy-compatible HTTP API for chaos proxies until SIGINT/SIGTERM.
  --host     address of the API (default 127.0.0.1)
  --port     port of the API (default 8474)
  --config   JSON array of proxies { name, listen, upstream, enabled } to create at start
`;

interface Flags {
  host: string;
  port: number;
  config?: string;
  help: boolean;
}

function parseFlags(argv: readonly string[]): Flags | string {
  const flags: Flags = { host: '127.0.0.1', port: 8474, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help' || arg === '-help') {
      flags.help = true;
      continue;
    }
    const m = /^--?(host|port|config)(?:=(.*))?$/.exec(arg);
    if (!m) return `unknown argument ${JSON.stringify(arg)}`;
    const name = m[1]!;
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '') return `--${name} needs a value`;
    if (name === 'port') {
      if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) return `--port must be an integer in [0, 65535], got ${JSON.stringify(value)}`;
      flags.port = Number(value);
    } else if (name === 'host') flags.host = value;
    else flags.config = value;
  }
  return flags;
}

/** Reads a Toxiproxy config file; returns the proxies or an error message. */
async function readConfig(path: string): Promise<ProxyInput[] | string> {
  let list: unknown;
  try {
    list = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    return `cannot read config ${path}: ${(err as Error).message}`;
  }
  if (!Array.isArray(list)) return `config ${path} must be a JSON array of proxies`;
  const proxies: ProxyInput[] = [];
  for (const [i, item] of list.entries()) {
    const where = `config ${path}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `${where} must be an object`;
    const { name, listen, upstream, enabled } = item as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') return `${where}.name must be a non-empty string`;
    if (typeof upstream !== 'string' || upstream === '') return `${where}.upstream must be a non-empty string`;
    if (listen !== undefined && typeof listen !== 'string') return `${where}.listen must be a string`;
    if (enabled !== undefined && typeof enabled !== 'boolean') return `${where}.enabled must be a boolean`;
    proxies.push({ name, upstream, listen: listen || undefined, enabled: enabled ?? true });
  }
  return proxies;
}

/**
 * Runs the command; resolves with the exit code (0 after a signal, 1 on failure, 2 on
 * bad flags).
 *
 * @example
 * process.exitCode = await runProxyCommand(['--port', '8474', '--config', 'toxiproxy.json']);
 */
export async function runProxyCommand(argv: string[], io: ProxyCommandIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const flags = parseFlags(argv);
  if (typeof flags === 'string') {
    err(`wirewarden proxy: ${flags}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    out(USAGE);
    return 0;
  }
  const config = flags.config === undefined ? [] : await readConfig(flags.config);
  if (typeof config === 'string') {
    err(`wirewarden proxy: ${config}\n`);
    return 1;
  }

  const server = createToxiproxyServer({ host: flags.host, port: flags.port });
  try {
    await server.start();
    out(`wirewarden proxy: Toxiproxy API listening on ${server.url}\n`);
    for (const proxy of await server.populate(config)) {
      out(`wirewarden proxy: ${proxy.name} ${proxy.listen} -> ${proxy.upstream}${proxy.enabled ? '' : ' (disabled)'}\n`);
    }
  } catch (e) {
    err(`wirewarden proxy: ${(e as Error).message}\n`);
    await server.close();
    return 1;
  }

  await untilStopped(io.signal);
  await server.close();
  out('wirewarden proxy: stopped\n');
  return 0;
}

function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
  });
}
