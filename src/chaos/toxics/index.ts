/**
 * The built-in toxic types: Toxiproxy's (`latency`, `bandwidth`, `slow_close`, `timeout`,
 * `reset_peer`, `slicer`, `limit_data`) with their exact attribute names and semantics,
 * plus wirewarden's `stall` and the protocol-aware `wire_*` toxics.
 */
import type { ToxicDefinition } from '../toxic-types.js';
import { bandwidth } from './bandwidth.js';
import { latency } from './latency.js';
import { limitData } from './limit-data.js';
import { resetPeer } from './reset-peer.js';
import { slicer } from './slicer.js';
import { slowClose } from './slow-close.js';
import { stall } from './stall.js';
import { timeout } from './timeout.js';
import { wireDelayResponses } from './wire-delay-responses.js';
import { wireDropPongs } from './wire-drop-pongs.js';
import { wireFailRequests } from './wire-fail-requests.js';

export {
  bandwidth, latency, limitData, resetPeer, slicer, slowClose, stall, timeout,
  wireDelayResponses, wireDropPongs, wireFailRequests,
};
export type { BandwidthAttributes } from './bandwidth.js';
export type { LatencyAttributes } from './latency.js';
export type { LimitDataAttributes } from './limit-data.js';
export type { ResetPeerAttributes } from './reset-peer.js';
export type { SlicerAttributes } from './slicer.js';
export type { SlowCloseAttributes } from './slow-close.js';
export type { StallAttributes } from './stall.js';
export type { TimeoutAttributes } from './timeout.js';
export type { WireDelayResponsesAttributes } from './wire-delay-responses.js';
export type { WireDropPongsAttributes } from './wire-drop-pongs.js';
export type { WireFailRequestsAttributes } from './wire-fail-requests.js';

/** Every built-in toxic type, keyed by its `type` name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- definitions of different attribute types
export const builtinToxics: ReadonlyMap<string, ToxicDefinition<any, any>> = new Map(
  [latency, bandwidth, slowClose, timeout, resetPeer, slicer, limitData, stall, wireDropPongs, wireFailRequests, wireDelayResponses]
    .map((d) => [d.type, d] as const),
);
