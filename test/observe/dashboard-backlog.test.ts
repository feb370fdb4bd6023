/**
 * The dashboard feed's backpressure with a tree far bigger than a page's backlog limit
 * (thousands of actors, as a large pool has connections), in virtual time and with a
 * simulated socket that drains only when told: a fresh page gets its whole hello and
 * stays; snapshots wait for a socket that needs draining; events are written until the
 * page is too far behind, then it is cut loose.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { VirtualTimeScheduler } from 'rxjs';
import { fromCallback } from 'xstate';
import { afterEach, expect, it } from 'vitest';
import { DashboardFeed } from '../../src/observe/dashboard-feed.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { advance } from './helpers/virtual-peer.js';

/** A ServerResponse whose socket never drains until `drain()`: every write stays unsent. */
class SlowResponse extends EventEmitter {
  readonly written: string[] = [];
  writableLength = 0;
  destroyed = false;
  readonly highWaterMark = 16 * 1024;
  get writableNeedDrain(): boolean {
    return this.writableLength > this.highWaterMark;
  }
  writeHead(): this {
    return this;
  }
  write(text: string): boolean {
    this.written.push(text);
    this.writableLength += Buffer.byteLength(text);
    return !this.writableNeedDrain;
  }
  drain(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  end(): void {
    this.emit('close');
  }
  events(name: string): number {
    return this.written.filter((t) => t.includes(`event: ${name}\n`)).length;
  }
}

const MAX_BACKLOG = 16 * 1024;
let rt: Runtime | undefined;
let feed: DashboardFeed | undefined;
afterEach(async () => {
  feed?.close();
  await rt?.shutdown();
  rt = undefined;
  feed = undefined;
});

it('a hello far over maxBacklogBytes reaches a fresh page whole; snapshots wait for drain; events go until the page is too far behind', async () => {
  const scheduler = new VirtualTimeScheduler();
  rt = createRuntime({ scheduler, random: () => 0.5, loadSource: () => 0 });
  const worker = fromCallback(() => () => {});
  rt.createSupervisor({ id: 'big', children: Array.from({ length: 3000 }, (_, i) => ({ id: `w${i}`, logic: worker, shutdownMs: 0 })) });
  feed = new DashboardFeed(rt, () => [], {
    intervalMs: 1000, maxClients: 4, maxBacklogBytes: MAX_BACKLOG, maxEvents: 50, maxBatchEvents: 500, flushMs: 25, rttSamples: 60,
  });
  const page = new SlowResponse();
  expect(feed.add(page as unknown as ServerResponse)).toBe(true);
  const hello = page.written[0]!;
  expect(hello).toContain('event: hello');
  expect(Buffer.byteLength(hello)).toBeGreaterThan(3 * MAX_BACKLOG);
  expect(feed.clients).toBe(1);
  expect(page.destroyed).toBe(false);

  // Its socket has not drained: the tick's snapshot is skipped, not queued behind the hello.
  await advance(scheduler, 1000, 50);
  expect(page.events('snapshot')).toBe(0);
  expect(feed.clients).toBe(1);

  // State changes still reach it (events are never skipped) while within its hello's allowance.
  rt.createSupervisor({ id: 'edge' });
  await advance(scheduler, 50, 25);
  expect(page.events('events')).toBe(1);

  // Drained: snapshots resume (each bigger than the limit, and allowed for like the hello).
  page.drain();
  await advance(scheduler, 1000, 50);
  expect(page.events('snapshot')).toBe(1);
  expect(page.writableLength).toBeGreaterThan(MAX_BACKLOG);
  expect(feed.clients).toBe(1);

  // Stalled: events pile up on top of it until they pass the limit, then the page is cut loose.
  const before = page.writableLength;
  for (let i = 0; i < 1000 && !page.destroyed; i++) {
    rt.createSupervisor({ id: `edge-${i}` });
    await advance(scheduler, 25, 25);
  }
  expect(page.destroyed).toBe(true);
  expect(page.writableLength - before).toBeGreaterThan(MAX_BACKLOG);
  expect(page.writableLength - before).toBeLessThan(MAX_BACKLOG + 4096);
  expect(feed.clients).toBe(0);
});
