/**
 * `wire_delay_responses` (wirewarden, protocol-aware): response frames (RES and ERR)
 * leave `latency` ± `jitter` ms late, each on its own timer; every other frame (PONGs,
 * pushes) passes at once. A slow server, not a slow network: heartbeats stay prompt while
 * requests take long, and responses may overtake each other as a multiplexed server's do.
 *
 * Overtaking is allowed only between frames that carry no decoding state
 * (`FrameInspector.carriesState`: a wire frame defining a msgpackr record shape). Such a
 * frame is a barrier both ways — nothing passes it, it passes nothing — so later frames
 * that refer to the shape never reach the peer before its definition. Pings and pongs,
 * which refer to no state, still pass. Bytes of a frame streamed raw (oversized, or in
 * flight at attach) are barriers too.
 */
import { duration, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';
import { bindSplitter, createFrameStageState, maxFrameBytesAttribute, releaseSplitter, type FrameStageState } from './frame-stage.js';

export interface WireDelayResponsesAttributes {
  /** Added delay per response, ms. */
  readonly latency: number;
  /** Uniform ± spread, ms. */
  readonly jitter: number;
  /** Frames above this size pass through unclassified. Default 16 MiB. */
  readonly max_frame_bytes: number;
}

interface Held {
  readonly bytes: Buffer;
  /** A whole frame (emitted at a frame boundary) rather than raw bytes. */
  readonly frame: boolean;
  readonly barrier: boolean;
  /** A ping or pong: refers to no decoding state, so it may pass a barrier. */
  readonly independent: boolean;
  ready: boolean;
  cancel?: () => void;
}

/**
 * @example
 * proxy.addToxic({ type: 'wire_delay_responses', stream: 'downstream', attributes: { latency: 300 } });
 */
export const wireDelayResponses: ToxicDefinition<WireDelayResponsesAttributes, FrameStageState> = {
  type: 'wire_delay_responses',
  description: 'delays wire response frames by latency ± jitter ms; other frames pass',
  attributes: shape({
    latency: duration({ min: 0, default: 0 }),
    jitter: duration({ min: 0, default: 0 }),
    max_frame_bytes: maxFrameBytesAttribute(),
  }),
  createState: createFrameStageState,
  create(ctx, attrs, state) {
    /** Everything not yet let out, in arrival order. */
    let held: Held[] = [];
    let heldBytes = 0;
    let ended = false;

    const emit = (entry: Held) => {
      heldBytes -= entry.bytes.length;
      if (entry.frame) ctx.pushFrame(entry.bytes);
      else ctx.push(entry.bytes);
    };
    /** Lets out every ready entry that no earlier held entry blocks. */
    const release = () => {
      const remaining: Held[] = [];
      let barrierAhead = false;
      for (const entry of held) {
        const blocked = entry.barrier ? remaining.length > 0 : barrierAhead && !entry.independent;
        if (entry.ready && !blocked) {
          emit(entry);
          continue;
        }
        remaining.push(entry);
        barrierAhead ||= entry.barrier;
      }
      held = remaining;
      if (ended && held.length === 0) ctx.close();
    };
    const hold = (entry: Held) => {
      held.push(entry);
      heldBytes += entry.bytes.length;
      release();
    };

    const splitter = bindSplitter(ctx, state, attrs.max_frame_bytes, (frame, payload) => {
      const barrier = ctx.frames.carriesState?.(payload) ?? false;
      const kind = ctx.frames.classify(payload);
      if (kind !== 'response') {
        hold({ bytes: frame, frame: true, barrier, independent: kind === 'ping' || kind === 'pong', ready: true });
        return;
      }
      const entry: Held = { bytes: frame, frame: true, barrier, independent: false, ready: false };
      const delayMs = Math.max(0, attrs.latency + (attrs.jitter > 0 ? (ctx.random() * 2 - 1) * attrs.jitter : 0));
      entry.cancel = ctx.schedule(delayMs, () => {
        entry.ready = true;
        release();
      });
      hold(entry);
    });
    // Raw bytes belong to a frame nobody classified: keep them in line.
    state.onRaw = (bytes) => hold({ bytes, frame: false, barrier: true, independent: false, ready: true });

    return {
      write: (chunk) => splitter.write(chunk),
      end: () => {
        splitter.drain();
        ended = true;
        release();
      },
      flush: ({ final }) => {
        for (const entry of held) {
          entry.cancel?.();
          entry.ready = true;
        }
        release();
        if (final) releaseSplitter(state);
      },
      get heldBytes() {
        return heldBytes + splitter.bufferedBytes;
      },
    };
  },
};
