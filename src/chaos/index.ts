/**
 * `wirewarden/chaos`: the chaos TCP proxy, its toxics, the Toxiproxy-compatible API,
 * scenarios (timeline, invariants, report, `wirewarden chaos run`) and the simulated
 * network that runs them deterministically in virtual time.
 *
 * The toxic contract (`ToxicDefinition`, `ToxicPipeline`) is transport-agnostic and runs
 * on any RxJS scheduler, so the simulated network reuses the same toxics in virtual time.
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

export type { ChaosLink } from './chaos-link.js';
export { proxyLink } from './chaos-link.js';
export { createSimulatedNetwork, SimulatedNetwork } from './simulated-network.js';
export type { SimulatedNetworkOptions, SimulatedListener } from './simulated-network.js';
export { SimulatedLink } from './simulated-link.js';
export { VirtualDriver, turnEventLoop } from './virtual-driver.js';
export type { VirtualDriverOptions } from './virtual-driver.js';
export { seededRandom, deriveSeed } from './seeded-random.js';

export { defineScenario, isScenario, detectionBoundMs, scenarioHeartbeat, scenarioBackoff, workloadDefaults } from './define-scenario.js';
export {
  invariant, noLostOrDuplicatedRequests, everyRequestSucceeds, allReadyWithin, noFalseDeath, detectedWithin,
  nothingLeftRunning,
} from './invariants.js';
export { classifyToxics } from './fault-classifier.js';
export type { FaultClassification } from './fault-classifier.js';
export { runScenario } from './run-scenario.js';
export type { RunScenarioOptions, ScenarioResult } from './run-scenario.js';
export { formatReport } from './format-report.js';
export type { ScenarioReport, Violation, LatencySummary } from './scenario-report.js';
export { SIMULATED_SERVER } from './simulated-environment.js';
export { runChaosCommand, runIfMain } from './chaos-command.js';
export type { ChaosCommandIo } from './chaos-command.js';
export type {
  ScenarioDefinition, Scenario, ScenarioSettings, ScenarioContext, ScenarioServer, ScenarioLink, ScenarioObservations, Invariant, InvariantPhase,
  TimelineStep, WorkloadOptions, RunMode, FaultOptions, FaultRecord, DeathRecord, DetectionSample, RecoveryEpisode,
  RequestCounts, ConnectionObservation,
} from './scenario-types.js';
