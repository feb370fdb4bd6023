import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests open real loopback sockets; keep them bounded.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
