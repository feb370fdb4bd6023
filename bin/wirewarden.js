#!/usr/bin/env node
// Runs the compiled CLI when installed from a package, the TypeScript source in a checkout.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let cli;
if (existsSync(dist)) {
  cli = await import(pathToFileURL(dist).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli.ts', import.meta.url).href);
}
// Called explicitly: through a node_modules/.bin symlink argv[1] names neither file.
await cli.runCli(process.argv.slice(2));
