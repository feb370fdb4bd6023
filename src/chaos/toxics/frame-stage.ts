/**
 * Shared plumbing of the protocol-aware `wire_*` toxics: a `FrameSplitter` kept in the
 * toxic's per-connection state, so that an update which keeps the toxic active does not
 * lose its place in the stream (a partial frame stays where it is), while a removal or a
 * switch to pass-through lets the partial frame out raw and forgets the splitter; a later
 * instance starts a fresh one at its own input position.
 */
import { integer } from '../../options.js';
import { FrameSplitter } from '../frame-splitter.js';
import type { ToxicContext, ToxicStage } from '../toxic-types.js';

/** 16 MiB, as the wire protocol's default frame ceiling. */
export const DEFAULT_TOXIC_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** The `max_frame_bytes` attribute every `wire_*` toxic accepts. */
export const maxFrameBytesAttribute = () => integer({ min: 0, max: 0xffffffff, default: DEFAULT_TOXIC_MAX_FRAME_BYTES });

export interface FrameStageState {
  splitter?: FrameSplitter;
  onFrame?: (frame: Buffer, payload: Buffer) => void;
  onRaw?: (bytes: Buffer) => void;
}

export const createFrameStageState = (): FrameStageState => ({});

/** The state's splitter, wired to this stage instance's handlers. */
export function bindSplitter(
  ctx: ToxicContext,
  state: FrameStageState,
  maxFrameBytes: number,
  onFrame: (frame: Buffer, payload: Buffer) => void,
): FrameSplitter {
  state.onFrame = onFrame;
  state.onRaw = (bytes) => ctx.push(bytes);
  state.splitter ??= new FrameSplitter(
    { onFrame: (frame, payload) => state.onFrame?.(frame, payload), onRaw: (bytes) => state.onRaw?.(bytes) },
    maxFrameBytes,
    ctx.framePosition,
  );
  return state.splitter;
}

/** Lets a partial frame out raw and forgets the splitter. */
export function releaseSplitter(state: FrameStageState): void {
  state.splitter?.drain();
  state.splitter = undefined;
}

/**
 * A stage that only decides, frame by frame, what to let through (`onFrame` pushes,
 * replies or drops): it holds nothing but the splitter's partial frame.
 */
export function frameFilterStage(
  ctx: ToxicContext,
  state: FrameStageState,
  maxFrameBytes: number,
  onFrame: (frame: Buffer, payload: Buffer) => void,
): ToxicStage {
  const splitter = bindSplitter(ctx, state, maxFrameBytes, onFrame);
  return {
    write: (chunk) => splitter.write(chunk),
    end: () => {
      splitter.drain();
      ctx.close();
    },
    flush: ({ final }) => {
      if (final) releaseSplitter(state);
    },
    get heldBytes() {
      return splitter.bufferedBytes;
    },
  };
}
