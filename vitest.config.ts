import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // The package's self-reference, resolved to the source (tsconfig.json `paths` does the
    // same for tsc and tsx): examples and scenario files import 'wirewarden' as users do.
    alias: [
      { find: /^wirewarden$/, replacement: source('./src/index.ts') },
      { find: /^wirewarden\/chaos$/, replacement: source('./src/chaos/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests open real loopback sockets; keep them bounded.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
