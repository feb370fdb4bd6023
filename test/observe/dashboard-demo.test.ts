/**
 * `wirewarden demo` serves the dashboard and prints its URL: while the demo runs, the
 * URL answers with the demo's supervised connections and its pool; when the demo ends,
 * nothing listens there any more.
 */
import { expect, test } from 'vitest';
import { runDemo } from '../../src/demo/demo.js';
import type { DashboardSnapshot } from '../../src/observe/dashboard-feed.js';
import { rawRequest, waitFor } from './dashboard-fixtures.js';

test('the demo prints the dashboard URL, serves its tree and pool there, and closes it at the end', async () => {
  const lines: string[] = [];
  const demo = runDemo({ durationS: 3, connections: 2, dashboard: { port: 0 }, write: (l) => lines.push(l) });
  await waitFor('the dashboard line', () => lines.some((l) => l.includes('dashboard: http://127.0.0.1:')), 10_000);
  const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(lines.join('\n'))![1]!;
  let state: DashboardSnapshot | undefined;
  await waitFor('both demo connections on the page', () => {
    void rawRequest(`${url}state.json`).then((r) => (state = JSON.parse(r.body) as DashboardSnapshot), () => {});
    return state?.tree.children?.find((n) => n.id === 'demo')?.children?.length === 2;
  }, 5000);
  expect(state!.tree.children!.map((n) => n.id)).toEqual(expect.arrayContaining(['demo', 'pool']));
  expect(state!.pools.map((p) => p.id)).toEqual(['pool']);
  await demo;
  await expect(rawRequest(url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
}, 20_000);
