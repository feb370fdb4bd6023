/**
 * bandwidth through a real proxy: 250 KB at 100 KB/s must take 2.5 s within 10 %
 * (measured over more than 2 s so that timer granularity does not dominate).
 */
import { expect, it } from 'vitest';
import { createChaosProxy } from '../../src/chaos/chaos-proxy.js';
import { connectClient, startServer, tcpHandles } from './helpers.js';

it('limits downstream throughput to rate KB/s within 10 %', async () => {
  const total = 250_000;
  const upstream = await startServer((s) => s.end(Buffer.alloc(total, 7)));
  const proxy = createChaosProxy({ name: 'bw', upstream: upstream.address });
  await proxy.start();
  proxy.addToxic({ type: 'bandwidth', attributes: { rate: 100 } });
  const start = performance.now();
  const client = await connectClient(proxy.address!.port);
  const doneAt = await client.waitForBytes(total, 8000);
  const elapsedMs = doneAt - start;
  expect(elapsedMs).toBeGreaterThanOrEqual(2500 * 0.9);
  expect(elapsedMs).toBeLessThanOrEqual(2500 * 1.1);
  expect(client.received()).toEqual(Buffer.alloc(total, 7));
  // Evenly spread, not one burst at the end: half the bytes arrive around half time.
  const half = client.chunks.findIndex((_, i) => client.chunks.slice(0, i + 1).reduce((n, c) => n + c.data.length, 0) >= total / 2);
  expect(client.chunks[half]!.at - start).toBeGreaterThan(1000);
  expect(client.chunks[half]!.at - start).toBeLessThan(1600);
  await proxy.close();
  await upstream.close();
  expect(await tcpHandles()).toBe(0);
}, 15_000);
