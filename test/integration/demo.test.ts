/**
 * `npm start` runs this demo; it must show the whole story (ready → probing → suspect →
 * dead under a freeze, refused dials after the kill, every connection back after the
 * restart) and leave nothing running. Real time, ~10 s: the demo's own clock.
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/demo.js';

function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout' || r === 'ProcessWrap').length;
}

describe('the demo', () => {
  it('walks connections through a freeze, a kill and a restart, serves the pool users, then cleans up', async () => {
    const baseline = handles();
    const lines: string[] = [];
    const result = await runDemo({ durationS: 10, connections: 3, write: (l) => lines.push(l) });
    const text = lines.join('\n');
    expect(text).toContain('freezing the server');
    expect(text).toMatch(/probing → suspect/);
    expect(text).toMatch(/suspect → dead \(heartbeat-timeout\)/);
    expect(text).toContain('killing the server');
    expect(result.deaths['heartbeat-timeout']).toBeGreaterThanOrEqual(1);
    expect((result.deaths['dial-failed'] ?? 0) + (result.deaths['handshake-failed'] ?? 0)).toBeGreaterThanOrEqual(1);
    expect(result.restarts).toBeGreaterThanOrEqual(3);
    expect(result.readyAtEnd).toBe(3);
    // The pool's users kept working before the freeze and after the restart.
    expect(result.requestsOk).toBeGreaterThan(50);
    expect(text).toMatch(/pool open \d+ leased \d+ idle \d+ pending \d+ waiting \d+/);
    expect(text).toMatch(/ready at the end: 3\/3/);
    const start = Date.now();
    while (handles() > baseline && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(handles()).toBeLessThanOrEqual(baseline);
  }, 30_000);
});
