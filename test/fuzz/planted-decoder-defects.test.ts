/**
 * The fuzzer can fail: a frame decoder with a planted defect (an uncoded throw, a
 * chunking-dependent result) is caught by the `frame-decoder` target within a short
 * seeded run, the finding names a case, and `onlyCase` replays exactly that case.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runFuzz } from '../../fuzz/campaign.js';

const plant = vi.hoisted(() => ({ defect: 'none' as 'none' | 'uncoded' | 'chunking' }));

vi.mock('../../src/transport/frame-decoder.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/transport/frame-decoder.js')>();
  class PlantedFrameDecoder extends real.FrameDecoder {
    override push(chunk: Buffer): void {
      // An oversized header answered with a RangeError instead of FrameTooLargeError.
      if (plant.defect === 'uncoded' && chunk.length >= 4 && chunk.readUInt32BE(0) > this.maxFrameBytes) throw new RangeError('planted');
      // A one-byte chunk silently lost: only chunked feeding notices.
      if (plant.defect === 'chunking' && chunk.length === 1) return;
      super.push(chunk);
    }
  }
  return { ...real, FrameDecoder: PlantedFrameDecoder };
});

afterEach(() => {
  plant.defect = 'none';
});

describe('frame-decoder target against planted defects', () => {
  it('reports an uncoded throw, with a case that replays it', async () => {
    plant.defect = 'uncoded';
    const [report] = await runFuzz({ targets: ['frame-decoder'], inputs: 2000, seed: 7 });
    expect(report!.counts.uncoded).toBeGreaterThan(0);
    const sample = report!.samples.find((s) => s.kind === 'uncoded')!;
    expect(sample.detail).toContain('RangeError: planted');
    const [replay] = await runFuzz({ targets: ['frame-decoder'], seed: 7, onlyCase: sample.caseIndex });
    expect(replay!.inputs).toBe(1);
    expect(replay!.samples[0]).toEqual(sample);
  });

  it('reports a result that depends on chunking', async () => {
    plant.defect = 'chunking';
    const [report] = await runFuzz({ targets: ['frame-decoder'], inputs: 2000, seed: 7 });
    expect(report!.counts.mismatch).toBeGreaterThan(0);
    expect(report!.counts.uncoded).toBe(0);
  });

  it('reports nothing once the defect is gone', async () => {
    const [report] = await runFuzz({ targets: ['frame-decoder'], inputs: 2000, seed: 7 });
    expect(report!.findings).toBe(0);
  });
});
