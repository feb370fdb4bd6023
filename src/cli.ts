/**
 * `wirewarden demo | proxy | chaos | bench`. Each command lives in its own module and is
 * imported on demand, so `wirewarden proxy` does not load the pool and vice versa.
 */
import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';

const usage = `usage: wirewarden <command> [options]

commands:
  demo [--duration <seconds>]              supervised connections through freezes and crashes (default 30 s)
  proxy [--host 127.0.0.1] [--port 8474] [--config file.json]
                                            Toxiproxy-compatible chaos proxy server
  chaos run <file...> [--seed n] [--simulated]
                                            run chaos scenarios and print a report
  bench <name>                             run a benchmark from bench/ (heartbeat, pool, reconnect-storm)
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo': {
      const { runDemoCommand } = await import('./demo/demo.js');
      return runDemoCommand(rest);
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
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`wirewarden: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 1;
  }
}

/**
 * Runs the CLI with `argv` and sets the process's exit code. `bin/wirewarden.js` calls it
 * explicitly: how the bin was reached (a `node_modules/.bin` symlink, `npx`, a shell shim)
 * must not decide whether anything runs.
 */
export function runCli(argv: string[]): Promise<void> {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`wirewarden: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
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
