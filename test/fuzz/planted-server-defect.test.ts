/**
 * The `wire-server` target sees what kills a server-side socket: with a planted defect
 * (the message parser throws a TypeError for a REQ carrying a map), a short seeded run
 * reports uncoded errors and clients the server stopped serving.
 */
import { describe, expect, it, vi } from 'vitest';
import { runFuzz } from '../../fuzz/campaign.js';

vi.mock('../../src/transport/wire-messages.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/transport/wire-messages.js')>();
  return {
    ...real,
    parseWireMessage(value: unknown) {
      const msg = real.parseWireMessage(value);
      if (msg.type === real.MessageType.REQ && msg.payload instanceof Map) throw new TypeError('planted');
      return msg;
    },
  };
});

describe('wire-server target against a planted defect', () => {
  it('reports the uncoded error a server socket died with, and the client it dropped', async () => {
    const [report] = await runFuzz({ targets: ['wire-server'], inputs: 1500, seed: 7 });
    expect(report!.counts.uncoded).toBeGreaterThan(0);
    expect(report!.samples.find((s) => s.kind === 'uncoded')!.detail).toContain('TypeError: planted');
    expect(report!.counts.unserved).toBeGreaterThan(0);
    expect(report!.counts.crash).toBe(0);
  });
});
