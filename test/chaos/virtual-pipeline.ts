/**
 * A `ToxicPipeline` on a `VirtualTimeScheduler`, recording what reaches the sink and
 * when: the unit-test bench for toxics (no sockets, no sleeping).
 */
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { builtinToxics } from '../../src/chaos/toxics/index.js';
import { ToxicPipeline } from '../../src/chaos/toxic-pipeline.js';
import { parseToxicSpec } from '../../src/chaos/toxic-spec.js';
import type { FrameInspector, ToxicSpec, ToxicStream } from '../../src/chaos/toxic-types.js';
import { wireFrames } from '../../src/chaos/wire-frames.js';
import { seededRandom } from '../../src/chaos/seeded-random.js';

export { seededRandom };

export interface Bench {
  readonly vts: VirtualTimeScheduler;
  readonly pipe: ToxicPipeline;
  /** Chunks delivered to the sink with their virtual arrival time. */
  readonly out: { data: Buffer; at: number }[];
  readonly replies: Buffer[];
  readonly errors: unknown[];
  endedAt: number | undefined;
  resets: number;
  received(): Buffer;
  attach(spec: ToxicSpec): void;
  /** Runs every timer due up to `t` and leaves the clock at `t`. */
  advanceTo(t: number): void;
}

export function bench(
  specs: ToxicSpec[] = [],
  options: { random?: () => number; frames?: FrameInspector; stream?: ToxicStream } = {},
): Bench {
  const vts = new VirtualTimeScheduler(VirtualAction, Infinity);
  const out: { data: Buffer; at: number }[] = [];
  const b: Bench = {
    vts,
    out,
    replies: [],
    errors: [],
    endedAt: undefined,
    resets: 0,
    pipe: undefined as unknown as ToxicPipeline,
    received: () => Buffer.concat(out.map((c) => c.data)),
    attach: (spec) => b.pipe.attach(parseToxicSpec(spec, builtinToxics)),
    advanceTo: (t) => {
      vts.maxFrames = t;
      vts.flush();
      vts.frame = Math.max(vts.frame, t);
    },
  };
  (b as { pipe: ToxicPipeline }).pipe = new ToxicPipeline({
    stream: options.stream ?? 'downstream',
    scheduler: vts,
    random: options.random ?? seededRandom(1),
    frames: options.frames ?? wireFrames,
    sink: {
      write: (data) => out.push({ data, at: vts.now() }),
      end: () => (b.endedAt = vts.now()),
    },
    onReset: () => (b.resets += 1),
    onReply: (frame) => b.replies.push(frame),
    onError: (err) => b.errors.push(err),
  });
  for (const spec of specs) b.attach(spec);
  return b;
}

export const bytes = (n: number, fill = 0x61) => Buffer.alloc(n, fill);
