/**
 * `wirewarden demo | inspect | proxy | chaos | bench`. Each command lives in its own module and is
 * imported on demand, so `wirewarden proxy` does not load the pool and vice versa.
 *
 * Exit status, for every command: 0 done, 1 the work failed (an invariant broke, a port
 * was taken), 2 bad usage (unknown command or option, a value out of range).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchmarksAvailable } from './bench-command.js';
import { exitWhenDone, resourcesOpenAtStart } from './exit-when-done.js';

function usage(): string {
  const bench = benchmarksAvailable()
    ? '  bench <name>                              run a benchmark from bench/ (a checkout of the repository)\n'
    : '';
  return `usage: wirewarden <command> [options]

commands:
  demo [--duration <seconds>]               supervised connections through freezes and crashes (default 30 s),
                                            watched on a live dashboard (the URL is printed)
  inspect [--host 127.0.0.1] [--port 8080]  loopback relay for Stately's inspector (@statelyai/inspect)
  proxy [--host 127.0.0.1] [--port 8474] [--config file.json]
                                            Toxiproxy-compatible chaos proxy server
  chaos run <file|name...> [--simulated] [--seed n] [--seeds k] [--quiet]
                                            run chaos scenarios and print a report
${bench}
  wirewarden <command> --help               options of a command
  wirewarden --version                      the installed version

examples:
  npx wirewarden chaos run slow-server --simulated --seeds 20
  npx wirewarden proxy --port 8474
`;
}

const DEMO_USAGE = `usage: wirewarden demo [--duration <seconds>] [--connections <n>] [--dashboard-port <n>] [--no-dashboard] [--inspect-port <n>]

Loopback servers that freeze and crash, and supervised connections that recover;
prints what happens and serves a live dashboard on 127.0.0.1. Ctrl-C ends it cleanly.
  --duration        seconds to run, in [3, 3600] (default 30)
  --connections     supervised connections, in [1, 1000] (default 6)
  --dashboard-port  the dashboard's port, 0 for any free one (default 0; the URL is printed)
  --no-dashboard    do not serve the dashboard
  --inspect-port    also serve Stately's inspector relay on this port (default: not served)
`;

const HELP = new Set(['-h', '--help', '-help']);

function version(): string {
  // ../package.json from both src/cli.ts and dist/cli.js.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo': {
      if (rest.some((a) => HELP.has(a))) {
        process.stdout.write(DEMO_USAGE);
        return 0;
      }
      const { runDemoCommand } = await import('./demo/demo.js');
      return runDemoCommand(rest);
    }
    case 'inspect': {
      const { runInspectCommand } = await import('./observe/inspector-relay-command.js');
      return runInspectCommand(rest);
    }
    case 'proxy': {
      const { runProxyCommand } = await import('./chaos/proxy-command.js');
      return runProxyCommand(rest);
    }
    case 'chaos': {
      const { runChaosCommand } = await import('./chaos/chaos-command.js');
      return runChaosCommand(rest);
    }
    case 'bench': {
      const { runBenchCommand } = await import('./bench-command.js');
      return runBenchCommand(rest);
    }
    case '-v':
    case '--version':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'help':
      // `wirewarden help chaos` is `wirewarden chaos --help`.
      if (rest[0] !== undefined) return main([rest[0], '--help']);
      process.stdout.write(usage());
      return 0;
    case '-h':
    case '--help':
    case '-help':
      process.stdout.write(usage());
      return 0;
    case undefined:
      process.stderr.write(usage());
      return 2;
    default:
      process.stderr.write(`wirewarden: unknown command ${JSON.stringify(command)}\n\n${usage()}`);
      return 2;
  }
}

/** `util.parseArgs` refusing an option: a usage error, not a crash. */
function isUsageError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/**
 * Runs the CLI with `argv` and ends the process with its exit status: at once when
 * nothing is left open, after a short grace and a warning naming what is when something
 * a command loaded holds the process (see exit-when-done.ts). `bin/wirewarden.js` calls
 * it explicitly: how the bin was reached (a `node_modules/.bin` symlink, `npx`, a shell
 * shim) must not decide whether anything runs.
 */
export function runCli(argv: string[]): Promise<void> {
  const warn = (text: string) => void process.stderr.write(text);
  const baseline = resourcesOpenAtStart();
  return main(argv).then(
    (code) => exitWhenDone(code, warn, baseline),
    (err: unknown) => {
      if (isUsageError(err)) {
        process.stderr.write(`wirewarden: ${err.message}\n(see wirewarden ${argv[0] ?? ''} --help)\n`);
        exitWhenDone(2, warn, baseline);
        return;
      }
      process.stderr.write(`wirewarden: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      exitWhenDone(1, warn, baseline);
    },
  );
}

/** `tsx src/cli.ts …` (npm start) runs this file directly. */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void runCli(process.argv.slice(2));
