/**
 * Framing offload's public surface (re-exported by the transport barrel): the worker
 * pool that decodes big PACKED wire messages off the main thread. See docs/transport.md,
 * "Framing offload".
 */
export {
  createFramingPool, FRAMING_POOL_DEFAULTS,
  type FramingPool, type FramingPoolOptions, type ResolvedFramingPoolOptions,
} from './framing-pool.js';
