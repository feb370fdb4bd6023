/**
 * `slicer`: cuts each chunk into pieces of about `average_size` ± `size_variation` bytes
 * and lets them out `delay` µs apart (Toxiproxy's SlicerToxic, same recursive halving,
 * so pieces vary evenly instead of leaving a runt at the end). Exercises decoders that
 * must reassemble frames split at arbitrary points.
 */
import { InvalidOptionError } from '../../errors.js';
import { integer, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';
import { TimedQueue } from './timed-queue.js';

export interface SlicerAttributes {
  /** Typical piece size, bytes (>= 1). */
  readonly average_size: number;
  /** ± spread of piece sizes, bytes; must be smaller than `average_size`. */
  readonly size_variation: number;
  /** Pause after each piece, microseconds. */
  readonly delay: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'slicer', attributes: { average_size: 8, size_variation: 4, delay: 1000 } });
 */
export const slicer: ToxicDefinition<SlicerAttributes> = {
  type: 'slicer',
  description: 'slices data into pieces of average_size ± size_variation bytes, delay µs apart',
  attributes: shape({
    average_size: integer({ min: 1, default: 1 }),
    size_variation: integer({ min: 0, default: 0 }),
    delay: integer({ min: 0, default: 0 }),
  }),
  validate(attrs, path) {
    if (attrs.size_variation >= attrs.average_size) {
      throw new InvalidOptionError(
        `${path}.size_variation must be smaller than ${path}.average_size (${attrs.average_size}), got ${attrs.size_variation}`,
      );
    }
  },
  create(ctx, attrs) {
    const queue = new TimedQueue(ctx);
    const gapMs = attrs.delay / 1000;
    let freeAt = 0;
    return {
      write(chunk) {
        const cuts = sliceOffsets(0, chunk.length, attrs, ctx.random);
        for (let i = 1; i < cuts.length; i += 2) {
          const dueAt = Math.max(freeAt, ctx.scheduler.now());
          freeAt = dueAt + gapMs;
          queue.add(chunk.subarray(cuts[i - 1]!, cuts[i]!), dueAt);
        }
      },
      end: () => queue.closeWhenDrained(),
      flush: () => queue.flush(),
      get heldBytes() {
        return queue.heldBytes;
      },
    };
  },
};

/** `[start0, end0, start1, end1, …]` covering `[start, end)`, as Toxiproxy's `chunk`. */
export function sliceOffsets(start: number, end: number, attrs: SlicerAttributes, random: () => number): number[] {
  if (end - start - attrs.average_size <= attrs.size_variation) return [start, end];
  const spread = attrs.size_variation > 0 ? Math.floor(random() * attrs.size_variation * 2) - attrs.size_variation : 0;
  const mid = start + Math.floor((end - start) / 2) + spread;
  return [...sliceOffsets(start, mid, attrs, random), ...sliceOffsets(mid, end, attrs, random)];
}
