/**
 * `wire_delay_responses` (wirewarden, protocol-aware): response frames (RES and ERR)
 * leave `latency` ± `jitter` ms late, each on its own timer; every other frame (PONGs,
 * pushes) passes at once. A slow server, not a slow network: heartbeats stay prompt while
 * requests take long, and responses may overtake each other as a multiplexed server's do.
 */
import { integer, shape } from '../../options.js';
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

/**
 * @example
 * proxy.addToxic({ type: 'wire_delay_responses', stream: 'downstream', attributes: { latency: 300 } });
 */
export const wireDelayResponses: ToxicDefinition<WireDelayResponsesAttributes, FrameStageState> = {
  type: 'wire_delay_responses',
  description: 'delays wire response frames by latency ± jitter ms; other frames pass',
  attributes: shape({
    latency: integer({ min: 0, default: 0 }),
    jitter: integer({ min: 0, default: 0 }),
    max_frame_bytes: maxFrameBytesAttribute(),
  }),
  createState: createFrameStageState,
  create(ctx, attrs, state) {
    /** Delayed frames in arrival order, with the cancel of their timer. */
    const held = new Map<number, { frame: Buffer; cancel: () => void }>();
    let nextId = 0;
    let heldBytes = 0;
    let ended = false;
    const release = (id: number) => {
      const entry = held.get(id);
      if (!entry) return;
      held.delete(id);
      heldBytes -= entry.frame.length;
      ctx.pushFrame(entry.frame);
      if (ended && held.size === 0) ctx.close();
    };
    const splitter = bindSplitter(ctx, state, attrs.max_frame_bytes, (frame, payload) => {
      if (ctx.frames.classify(payload) !== 'response') {
        ctx.pushFrame(frame);
        return;
      }
      const delayMs = Math.max(0, attrs.latency + (attrs.jitter > 0 ? (ctx.random() * 2 - 1) * attrs.jitter : 0));
      const id = nextId++;
      heldBytes += frame.length;
      held.set(id, { frame, cancel: () => {} });
      held.get(id)!.cancel = ctx.schedule(delayMs, () => release(id));
    });
    return {
      write: (chunk) => splitter.write(chunk),
      end: () => {
        splitter.drain();
        ended = true;
        if (held.size === 0) ctx.close();
      },
      flush: ({ final }) => {
        for (const [id, entry] of [...held]) {
          entry.cancel();
          release(id);
        }
        if (final) releaseSplitter(state);
      },
      get heldBytes() {
        return heldBytes + splitter.bufferedBytes;
      },
    };
  },
};
