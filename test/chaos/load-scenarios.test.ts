/**
 * `wirewarden chaos run <file|name>`: a path is taken as given, and a bare name that is no
 * file names a shipped scenario (examples/chaos/ in a checkout; dist/examples/chaos/*.js
 * installed, which test/package/installed-package.test.ts runs).
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { scenarioPath, shippedScenarios } from '../../src/chaos/load-scenarios.js';

it('lists the shipped scenarios: the files of examples/chaos', () => {
  const files = readdirSync('examples/chaos').filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  expect(files).toContain('slow-server');
  expect(shippedScenarios()).toEqual(files);
});

it('takes a bare name that is no file for a shipped scenario, anything else as a path', () => {
  expect(scenarioPath('slow-server')).toBe(resolve('examples/chaos/slow-server.ts'));
  expect(scenarioPath('test/chaos/scenario-fixtures/two-scenarios.ts')).toBe(resolve('test/chaos/scenario-fixtures/two-scenarios.ts'));
  // An existing file wins over a shipped name; an unknown name stays a path (and fails to load as one).
  expect(scenarioPath('examples')).toBe(resolve('examples'));
  expect(scenarioPath('no-such-scenario')).toBe(resolve('no-such-scenario'));
  expect(scenarioPath('./slow-server')).toBe(resolve('slow-server'));
});
