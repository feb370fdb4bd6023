/**
 * `wirewarden/chaos`, the chaos toolkit's public API: the chaos TCP proxy and its
 * Toxiproxy-compatible HTTP API (docs/chaos-proxy.md), scenarios with their invariants and
 * report (docs/chaos-scenarios.md), and the simulated network that runs them in virtual
 * time. test/public-api.test.ts pins this list.
 *
 * Toxics are named by their Toxiproxy `type` in a spec (`{ type: 'latency', attributes }`),
 * so their definitions, the toxic pipeline, the frame splitter and the wire-frame
 * classifier stay internal, as do the proxy registry's class, the fault classifier and
 * the CLI commands (`wirewarden proxy`, `wirewarden chaos run`). `VirtualDriver` and
 * `SimulatedScheduler` are public because a simulated network is driven by nothing else (as
 * XState's `SimulatedClock`), and RxJS's `VirtualTimeScheduler` does not last long runs.
 */

// The proxy and the Toxiproxy-compatible API
// `ChaosProxy` is a type: proxies are made by `createChaosProxy` (or the registry).
export { createChaosProxy } from './chaos-proxy.js';
export type { ChaosProxy, ChaosProxyOptions, ChaosProxyStats, ProxyJson, ProxyUpdate } from './chaos-proxy.js';
export { createToxiproxyServer } from './toxiproxy-server.js';
export type { ToxiproxyServer, ToxiproxyServerOptions } from './toxiproxy-server.js';
export type { ProxyRegistry, ProxyInput } from './proxy-registry.js';
export type { ToxicSpec, ToxicPatch, ToxicJson, ToxicStream, FrameInspector, FrameKind } from './toxic-types.js';
export type { ChaosLink } from './chaos-link.js';

// Scenarios
export { defineScenario, detectionBoundMs } from './define-scenario.js';
export {
  invariant, noLostOrDuplicatedRequests, everyRequestSucceeds, allReadyWithin, noFalseDeath, detectedWithin,
  nothingLeftRunning,
} from './invariants.js';
export { runScenario } from './run-scenario.js';
export type { RunScenarioOptions, ScenarioResult, ScenarioPhase } from './run-scenario.js';
export { formatReport } from './format-report.js';
export type { ScenarioReport, Violation, LatencySummary } from './scenario-report.js';
export { runIfMain } from './chaos-command.js';
export type {
  ScenarioDefinition, Scenario, ScenarioContext, ScenarioServer, ScenarioLink, ScenarioObservations, Invariant,
  InvariantPhase, TimelineStep, WorkloadOptions, RunMode, FaultOptions, FaultRecord, DeathRecord, DetectionSample,
  RecoveryEpisode, RequestCounts, ConnectionObservation,
} from './scenario-types.js';

// The simulated network
export { createSimulatedNetwork } from './simulated-network.js';
export type { SimulatedNetwork, SimulatedNetworkOptions, SimulatedListener } from './simulated-network.js';
export { SimulatedScheduler } from './simulated-scheduler.js';
export { VirtualDriver, type VirtualDriverOptions } from './virtual-driver.js';
export { seededRandom } from './seeded-random.js';

// Scenarios against your own system (docs/chaos-scenarios.md, "Testing your own system")
export type {
  ScenarioTarget, ScenarioTargetServer, ScenarioServerEnv, ScenarioPoolEnv, ScenarioPoolOptions, WorkloadRequest, PhaseOutcome,
} from './scenario-types.js';
