/**
 * Target `frame-decoder`: `FrameDecoder` (src/transport/frame-decoder.ts) fed length-
 * prefixed streams in arbitrary chunks.
 *
 * An input is one stream of 1–8 frames, generated well-formed and then (three times in
 * four) mutated: bytes flipped, cut, spliced, a header rewritten with a hostile length.
 * It is fed twice, whole and cut into random chunks. Contract checked:
 * - `push` returns or throws a coded error (`WW_FRAME_TOO_LARGE`), nothing else;
 * - the outcome (frames handed out, error code, bytes held) does not depend on chunking;
 * - an unmutated stream yields exactly its frames;
 * - bytes held never exceed bytes fed (a declared length costs nothing until it arrives).
 */
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { mutate, randomChunks, tamperFrameLength } from '../mutators.js';
import { describeError, errorCode, isCoded } from '../oracles.js';
import { Rng } from '../random.js';
import { runCases, type FuzzTarget, type TargetContext } from '../target.js';

interface Outcome {
  readonly frames: Buffer[];
  readonly error: unknown;
  readonly buffered: number;
}

function feed(chunks: readonly Buffer[], maxFrameBytes: number): Outcome {
  const frames: Buffer[] = [];
  // Copy: a frame may be a view of a chunk, and views of the two feedings must not alias.
  const decoder = new FrameDecoder((f) => frames.push(Buffer.from(f)), { maxFrameBytes });
  let fed = 0;
  try {
    for (const chunk of chunks) {
      decoder.push(chunk);
      fed += chunk.length;
      if (decoder.bufferedBytes > fed) throw new Error(`holds ${decoder.bufferedBytes} bytes after ${fed} fed`);
    }
  } catch (err) {
    return { frames, error: err, buffered: decoder.bufferedBytes };
  }
  return { frames, error: undefined, buffered: decoder.bufferedBytes };
}

function sameFrames(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((f, i) => f.equals(b[i]!));
}

function generate(rng: Rng, maxFrameBytes: number): { stream: Buffer; starts: number[]; payloads: Buffer[] } {
  const payloads: Buffer[] = [];
  const parts: Buffer[] = [];
  const starts: number[] = [];
  let offset = 0;
  for (let n = rng.int(1, 8); n > 0; n--) {
    const length = Math.min(maxFrameBytes, rng.chance(0.02) ? rng.int(65_536, 300_000) : rng.size(512));
    const payload = rng.bytes(length);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(length);
    starts.push(offset);
    parts.push(header, payload);
    payloads.push(payload);
    offset += 4 + length;
  }
  return { stream: Buffer.concat(parts), starts, payloads };
}

export const frameDecoderTarget: FuzzTarget = {
  name: 'frame-decoder',
  summary: 'FrameDecoder fed generated and mutated u32-length-prefixed streams, whole and in random chunks',
  async run(context: TargetContext) {
    const { seed } = context;
    await runCases(context, (index, report) => {
      const rng = Rng.forCase(seed, 'frame-decoder', index);
      const maxFrameBytes = rng.pick([0, 1, 64, 1024, 65_536, 16 * 1024 * 1024]);
      const { stream, starts, payloads } = generate(rng, maxFrameBytes);
      const mutation = rng.weighted([1, 2, 1, 0.3]);
      const input =
        mutation === 0 ? stream
        : mutation === 1 ? mutate(rng, stream, { dictionary: [Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0, 0, 0, 0])] })
        : mutation === 2 ? tamperFrameLength(rng, stream, starts, maxFrameBytes)
        : rng.bytes(rng.size(4096));
      report.inputs++;

      const started = performance.now();
      const whole = feed([input], maxFrameBytes);
      report.timedInput(performance.now() - started);
      const split = feed(randomChunks(rng, input, 1024), maxFrameBytes);
      for (const outcome of [whole, split]) {
        if (outcome.error !== undefined && !isCoded(outcome.error)) {
          report.record('uncoded', `push threw ${describeError(outcome.error)}`, index, input);
          return;
        }
      }
      if (!sameFrames(whole.frames, split.frames) || errorCode(whole.error) !== errorCode(split.error) || whole.buffered !== split.buffered) {
        report.record('mismatch', `whole: ${whole.frames.length} frames, ${errorCode(whole.error)}, ${whole.buffered} held; chunked: ${split.frames.length} frames, ${errorCode(split.error)}, ${split.buffered} held`, index, input);
        return;
      }
      if (mutation === 0 && (whole.error !== undefined || !sameFrames(whole.frames, payloads))) {
        report.record('mismatch', `well-formed stream of ${payloads.length} frames decoded to ${whole.frames.length} (${errorCode(whole.error)})`, index, input);
      }
    });
  },
};
