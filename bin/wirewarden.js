#!/usr/bin/env node
// Runs the compiled CLI when installed from the package (dist/ is always there), the
// TypeScript source through tsx in a checkout that has not been built.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let cli;
if (existsSync(dist)) {
  cli = await import(pathToFileURL(dist).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('wirewarden: no build in dist/ and no tsx to run the source: npm install && npm run build\n');
    process.exit(1);
  }
  register();
  cli = await import(new URL('../src/cli.ts', import.meta.url).href);
}
// Called explicitly: through a node_modules/.bin symlink argv[1] names neither file.
await cli.runCli(process.argv.slice(2));
