import { describe, expect, it } from 'vitest';
import { weightedLeastConnections } from '../../src/pool/choose-endpoint.js';
import type { EndpointView } from '../../src/pool/connection-source.js';

const view = (host: string, priority: number, weight: number, open = 0, pending = 0, consecutiveFailures = 0): EndpointView => ({
  endpoint: { host, port: 1, priority, weight }, key: `${host}:1`, open, pending, consecutiveFailures,
});

describe('weightedLeastConnections', () => {
  it('prefers the lowest live priority group', () => {
    expect(weightedLeastConnections([view('b', 1, 1), view('a', 0, 1)], Math.random).key).toBe('a:1');
    expect(weightedLeastConnections([view('b', 1, 1), view('a', 0, 1, 0, 1, 3)], Math.random).key).toBe('b:1');
  });

  it('falls back to the lowest group when every endpoint is failing', () => {
    expect(weightedLeastConnections([view('b', 1, 1, 0, 0, 1), view('a', 0, 1, 0, 0, 1)], Math.random).key).toBe('a:1');
  });

  it('picks the least loaded per unit of weight, counting pending dials', () => {
    expect(weightedLeastConnections([view('a', 0, 2, 2, 0), view('b', 0, 1, 0, 1)], Math.random).key).toBe('a:1');
    expect(weightedLeastConnections([view('a', 0, 2, 4, 0), view('b', 0, 1, 1, 0)], Math.random).key).toBe('b:1');
    // a tie goes to the first listed
    expect(weightedLeastConnections([view('a', 0, 2, 3, 0), view('b', 0, 1, 1, 0)], Math.random).key).toBe('a:1');
  });
});
