/**
 * `wirewarden/chaos`: the chaos TCP proxy, its toxics, and the Toxiproxy-compatible API.
 *
 * The toxic contract (`ToxicDefinition`, `ToxicPipeline`) is transport-agnostic and runs
 * on any RxJS scheduler, so a simulated network can reuse the same toxics in virtual time.
 */
export { ChaosProxy, createChaosProxy } from './chaos-proxy.js';
export type { ChaosProxyOptions, ChaosProxyStats, ProxyJson, ProxyUpdate } from './chaos-proxy.js';
export { createToxiproxyServer } from './toxiproxy-server.js';
export type { ToxiproxyServer, ToxiproxyServerOptions } from './toxiproxy-server.js';
export { ProxyRegistry } from './proxy-registry.js';
export type { ProxyInput, ProxyDefaults } from './proxy-registry.js';
export { handleApiRequest } from './toxiproxy-routes.js';
export type { ApiResponse } from './toxiproxy-routes.js';
export { runProxyCommand } from './proxy-command.js';
export type { ProxyCommandIo } from './proxy-command.js';

export { ToxicPipeline } from './toxic-pipeline.js';
export type { ToxicSink, PipelineToxic, ToxicPipelineOptions } from './toxic-pipeline.js';
export { parseToxicSpec, patchToxic, toxicJson } from './toxic-spec.js';
export type { ToxicEntry } from './toxic-spec.js';
export type {
  ToxicStream, FrameKind, FrameClassifier, FrameInspector, FramePosition, ToxicContext, ToxicStage,
  ToxicDefinition, ToxicJson, ToxicSpec, ToxicPatch,
} from './toxic-types.js';
export * from './toxics/index.js';
export { FrameCursor, FrameSplitter, FRAME_BOUNDARY } from './frame-splitter.js';
export type { FrameSplitterHandlers } from './frame-splitter.js';
export { wireFrames, classifyWireFrame, wireErrorReply, CHAOS_ERROR_CODE } from './wire-frames.js';
