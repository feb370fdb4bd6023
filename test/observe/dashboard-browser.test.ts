/**
 * The dashboard in a real browser: Debian's headless chromium driven by puppeteer-core.
 * Pools on real loopback wire servers, one of them a separate process that the test
 * freezes (SIGSTOP: its sockets stay open, nothing is read or answered — a hung peer).
 * The page must list every connection, and show each frozen connection as suspect or
 * dead within 2 s of the runtime's state event (event `at` → the moment the DOM
 * changed, both on this machine's wall clock). The test saves a screenshot; with
 * WW_UPDATE_SCREENSHOTS=1 it refreshes the one the docs show (docs/images/dashboard.png).
 *
 * Skipped, loudly, only when chromium is absent (`.ci/run` installs Debian's package).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, describe, expect, test } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { spawnServerProcess, type ServerProcess } from '../../src/demo/spawn-server.js';
import type { RuntimeEvent } from '../../src/observe/events.js';

const CHROMIUM = process.env.WW_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SKIP_REASON = `SKIPPED: no chromium at ${CHROMIUM} (apt-get install chromium, as .ci/run does, or set WW_CHROMIUM)`;
if (!hasChromium) console.warn(`\n*** dashboard browser test ${SKIP_REASON} ***\n`);

// The docs' screenshot is refreshed only when asked (WW_UPDATE_SCREENSHOTS=1), so a test
// run does not dirty the checkout; otherwise it goes to a temporary folder.
const SCREENSHOT_DIR = process.env.WW_UPDATE_SCREENSHOTS === '1'
  ? fileURLToPath(new URL('../../docs/images/', import.meta.url))
  : join(tmpdir(), 'wirewarden-screenshots');
const SCREENSHOT = join(SCREENSHOT_DIR, 'dashboard.png');
const BOUND_MS = 2000;

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // keep cleaning up
    }
  }
});

/**
 * Runs in the page before its own script: records, per connection path, the wall-clock
 * time at which the DOM first showed it suspect or dead (a string: the test project has
 * no DOM types).
 */
const RECORD_SUSPECT_OR_DEAD = `
  window.__wwSeen = {};
  const note = () => {
    const now = performance.timeOrigin + performance.now();
    for (const el of document.querySelectorAll('[data-kind="connection"][data-state="suspect"], [data-kind="connection"][data-state="dead"]')) {
      window.__wwSeen[el.dataset.path] ??= now;
    }
  };
  new MutationObserver(note).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
`;

/** A page expression: the `data-` attribute `name` of every element matching `selector`, sorted. */
const attributes = (selector: string, name: string): string =>
  `[...document.querySelectorAll(${JSON.stringify(selector)})].map((el) => el.getAttribute(${JSON.stringify(name)})).sort()`;

describe.skipIf(!hasChromium)(`the dashboard in headless chromium${hasChromium ? '' : ` — ${SKIP_REASON}`}`, () => {
  test('lists every connection; a frozen peer\'s connections turn suspect/dead on the page within 2 s; screenshot', async () => {
    const frozen: ServerProcess = await spawnServerProcess();
    cleanups.push(() => frozen.stop());
    const healthy = createWireServer({ handler: (payload) => payload });
    const { port: healthyPort } = await healthy.listen();
    cleanups.push(() => healthy.close({ graceful: false }));

    const rt: Runtime = createRuntime();
    cleanups.push(() => rt.shutdown());
    const heartbeat = { intervalMs: 250, minTimeoutMs: 50, maxTimeoutMs: 250, suspectProbes: 2 };
    const timeouts = { connectTimeoutMs: 500, handshakeTimeoutMs: 500 };
    const backoff = exponentialBackoff({ initialMs: 200, maxMs: 1000, multiplier: 2, jitter: 'phased' });
    const orders = rt.createPool({ id: 'orders', endpoints: [{ host: '127.0.0.1', port: frozen.port }], protocol: wire(), min: 4, max: 4, heartbeat, backoff, acquireTimeoutMs: 300, ...timeouts });
    const sessions = rt.createPool({ id: 'sessions', endpoints: [{ host: '127.0.0.1', port: healthyPort }], protocol: wire(), min: 2, max: 3, heartbeat, backoff, ...timeouts });
    rt.createSupervisor({
      id: 'edge', strategy: 'one-for-one', maxRestarts: 100, withinMs: 60_000,
      children: ['feed-a', 'feed-b'].map((id) => ({
        id, logic: connectionMachine, restart: 'permanent' as const, backoff,
        input: { endpoint: { host: '127.0.0.1', port: healthyPort }, protocol: wire(), heartbeat, ...timeouts },
      })),
    });
    // Some traffic, so the gauges move and the frozen pool's callers queue and time out.
    let load = true;
    const users = [orders, orders, sessions, sessions, sessions].map(async (pool, i) => {
      while (load) {
        await pool.use((conn) => conn.request({ user: i }, { timeoutMs: 300 })).catch(() => {});
        await new Promise((r) => setTimeout(r, 30));
      }
    });
    cleanups.push(async () => {
      load = false;
      await Promise.allSettled(users);
    });

    // When each connection of `orders` was first reported suspect or dead by the runtime.
    const reportedAt = new Map<string, number>();
    let frozenAt = Number.POSITIVE_INFINITY;
    const sub = rt.events$.subscribe((e: RuntimeEvent) => {
      if (e.type === 'state' && e.path.startsWith('root/orders/') && (e.to === 'suspect' || e.to === 'dead') && e.at >= frozenAt && !reportedAt.has(e.path)) {
        reportedAt.set(e.path, e.at);
      }
    });
    cleanups.push(() => sub.unsubscribe());

    const dashboard = await rt.serveDashboard({ intervalMs: 250 });
    const browser: Browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await page.setViewport({ width: 1280, height: 860 });
    await page.evaluateOnNewDocument(RECORD_SUSPECT_OR_DEAD);
    await page.goto(dashboard.url);

    // Every connection of both pools and of the supervisor is listed, ready.
    const expected = [
      ...orders.connections().map((c) => `root/orders/${c.id}`),
      ...sessions.connections().map((c) => `root/sessions/${c.id}`),
      'root/edge/feed-a', 'root/edge/feed-b',
    ].sort();
    await page.waitForFunction(
      `document.querySelectorAll('[data-kind="connection"][data-state="ready"], [data-kind="connection"][data-state="probing"]').length === ${expected.length}`,
      { timeout: 10_000 },
    );
    expect(await page.evaluate(attributes('[data-kind="connection"]', 'data-path'))).toEqual(expected);
    await page.waitForFunction(`document.querySelectorAll('svg#rtt polyline').length > 0`, { timeout: 5000 });
    // A few seconds of RTT history for the chart.
    await new Promise((r) => setTimeout(r, 2500));

    const frozenPaths = orders.connections().map((c) => `root/orders/${c.id}`);
    frozenAt = Date.now();
    frozen.freeze();
    await page.waitForFunction(`${JSON.stringify(frozenPaths)}.every((p) => window.__wwSeen[p] !== undefined)`, { timeout: 15_000 });
    const seen = (await page.evaluate('window.__wwSeen')) as Record<string, number>;
    const latencies = frozenPaths.map((path) => ({ path, reportedAt: reportedAt.get(path), shownAfterMs: seen[path]! - reportedAt.get(path)! }));
    console.log('state event → DOM (ms):', latencies.map((l) => `${l.path} ${l.shownAfterMs.toFixed(0)}`).join(', '));
    for (const l of latencies) {
      expect(l.reportedAt, `${l.path} was reported suspect/dead by the runtime`).toBeDefined();
      expect(l.shownAfterMs, l.path).toBeLessThanOrEqual(BOUND_MS);
      // Shown because of the event, not before it (a small allowance for timer resolution).
      expect(l.shownAfterMs, l.path).toBeGreaterThan(-5);
    }
    // The healthy side stays ready while the frozen one fails.
    expect(await page.evaluate(attributes('[data-path^="root/sessions/"][data-kind="connection"]', 'data-state'))).toEqual(expect.arrayContaining(['ready']));

    // Restarts and reasons appear once the frozen connections die.
    await page.waitForFunction(`document.querySelectorAll('#restarts-body tr').length >= 2`, { timeout: 10_000 });
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: SCREENSHOT as `${string}.png` });
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
    expect(pageErrors).toEqual([]);
    frozen.thaw();
  }, 60_000);
});
