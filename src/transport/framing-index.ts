/**
 * Framing offload gathered for the (internal) transport barrel: the worker pool that
 * decodes big PACKED wire messages off the main thread, and the reply marker that sends a
 * handler's reply as PACKED. See docs/transport.md, "Framing offload".
 */
export {
  createFramingPool, FRAMING_POOL_DEFAULTS,
  type FramingPool, type FramingPoolOptions, type ResolvedFramingPoolOptions,
} from './framing-pool.js';
export { offloaded, OffloadedReply } from './framing-offloaded.js';
export type { SendOptions } from './wire-session.js';
