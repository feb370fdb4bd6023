/**
 * The public API is a deliberate list: every export is a promise we must keep. This file
 * pins the exact names of both entry points ('wirewarden' and 'wirewarden/chaos'), values
 * and types, so adding or removing one is a decision made here; it also checks that the
 * docs and examples import the package as users do, and only names it exports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import * as chaos from '../src/chaos/index.js';

const ROOT_VALUES = [
  // runtime
  'createRuntime', 'EVENT_CHANNEL',
  // metrics and tracing
  'createPrometheusMetrics', 'createOpenTelemetry',
  // supervisors and backoff
  'createSupervisor', 'supervisorChild', 'exponentialBackoff', 'constantBackoff', 'grpcBackoff',
  // the connection actor
  'connectionMachine', 'connectionModel', 'connectionState', 'liveConnection',
  // transports and protocols
  'tcp', 'tls', 'unix', 'wire', 'createWireServer', 'createFramingPool', 'offloaded', 'resp', 'custom',
  // pool discovery
  'endpointsFrom', 'redisSentinel',
  // errors
  'WirewardenError', 'hasCode', 'errorFromCode',
  'InvalidOptionError', 'AbortedError', 'DialRefusedError', 'DialTimeoutError', 'DialFailedError', 'TlsError',
  'FrameTooLargeError', 'ProtocolError', 'WriteQueueFullError', 'HandshakeFailedError', 'HandshakeRefusedError',
  'RequestTimeoutError', 'RemoteError', 'ConnectionClosedError', 'GoawayError', 'ExclusiveCommandError', 'DispatchUnsupportedError', 'ListenFailedError',
  'ChildNotFoundError', 'ChildExistsError', 'RestartIntensityError', 'RuntimeShutDownError',
  'PoolTimeoutError', 'PoolQueueFullError', 'PoolClosedError', 'EndpointRefusedError', 'LeaseReleasedError',
  'LeaseLostError', 'PoolOverloadedError', 'CircuitOpenError', 'DiscoveryError', 'ProxyNotFoundError', 'ProxyExistsError', 'ProxyRegistryClosedError', 'ToxicNotFoundError', 'ToxicExistsError',
  'InvariantBrokenError',
];

const ROOT_TYPES = [
  'Runtime', 'RuntimeOptions', 'RuntimeState',
  'RuntimeEvent', 'StateEvent', 'RestartEvent', 'ChildExitEvent', 'EscalationEvent', 'ShutdownEvent', 'RuntimeFailedEvent',
  'PoolRuntimeEvent', 'EventTrace',
  'PrometheusMetrics', 'PrometheusMetricsOptions', 'PrometheusRegistry', 'OpenTelemetry', 'OpenTelemetryOptions', 'OtelMetricProducer',
  'Dashboard', 'DashboardOptions', 'InspectorRelay', 'InspectorRelayOptions', 'ServeInspectorOptions',
  'SupervisorChildOptions', 'ChildSpec', 'SupervisorSpec', 'RestartType', 'Strategy', 'ShutdownOrder',
  'SupervisorHandle', 'WhenChildStateOptions', 'ChildInfo', 'SupervisorRef', 'SupervisorSnapshot', 'SupervisorOutput',
  'BackoffPolicy', 'Jitter', 'ExponentialBackoffOptions', 'ConstantBackoffOptions',
  'ConnectionSnapshot', 'ConnectionStatePath', 'ConnectionStateValue', 'ConnectionEvent', 'ConnectionInput', 'ConnectionState', 'ConnectionOutput', 'ConnectionCommand', 'ConnectionHealth',
  'DeadReason', 'KillReason', 'HeartbeatOptions', 'HeartbeatInput', 'LiveConnectionView',
  'Endpoint', 'DialOptions', 'Transport', 'Protocol', 'ProtocolContext', 'ProbeListener',
  'TcpOptions', 'TlsOptions', 'Pem', 'UnixOptions', 'WireOptions', 'WireSession', 'WireSessionState', 'RequestOptions', 'SendOptions',
  'WireServer', 'WireServerOptions', 'WireServerAddress', 'WireClientInfo', 'WireClientDropped', 'WireRequestContext',
  'WireDropReason', 'WireServerConnectionState', 'FramingPool', 'FramingPoolOptions', 'ResolvedFramingPoolOptions', 'OffloadedReply',
  'RespOptions', 'RespSession', 'RespSessionState', 'CommandOptions', 'RespMessage', 'RespServerInfo', 'RespReply', 'RespArg',
  'CustomProtocolOptions',
  'AnyProtocol', 'ConnectProtocol', 'ConnectContext', 'SessionProtocol', 'SessionSharing', 'CustomStreamOptions', 'CustomConnectOptions', 'CustomSessionOptions',
  'Pool', 'Lease', 'CreatePoolOptions', 'AcquireOptions', 'DispatchOptions', 'CommandSession', 'RequestSession', 'BalanceStrategy',
  'PoolOptions', 'PoolEndpoint', 'PoolConnectionInfo',
  'PoolStats', 'EndpointStats', 'DispatchStats', 'ClosedReason', 'PoolHealth', 'EndpointHealth', 'EndpointHealthState', 'PoolUnreadyReason',
  'DiscoveryHealth', 'EndpointProvider', 'EndpointSource', 'DiscoveryContext', 'EndpointsFromOptions', 'RedisSentinelOptions',
  'PoolEndpointsChangedEvent', 'PoolDiscoveryErrorEvent',
  'PoolEvent', 'PoolConnectionReadyEvent', 'PoolDialFailedEvent', 'PoolFailoverEvent', 'PoolConnectionClosedEvent',
  'PoolLeaseLostEvent', 'PoolLeakEvent', 'PoolLeakReturnedEvent', 'PoolEndpointRefusedEvent', 'PoolEndpointRecoveredEvent',
  'PoolAcquireTimeoutEvent', 'PoolDispatchTimeoutEvent', 'PoolLogger',
  'PoolBreakerEvent', 'PoolEndpointEjectedEvent', 'PoolEndpointReadmittedEvent', 'PoolEndpointHealthyEvent',
  'PoolPriorityFailoverEvent', 'PoolPriorityFailbackEvent', 'PoolSheddingEvent',
  'EndpointHealthOptionsInput', 'BreakerOptions', 'BreakerOptionsInput', 'SlidingWindowType', 'CallOutcome', 'ClassifyError',
  'OutlierOptions', 'FailoverOptions', 'SheddingOptions',
  'Subscriber', 'CreateSubscriberOptions', 'SubscriberState', 'SubscriberEvent', 'SubscriberSubscribedEvent',
  'SubscriberGapEvent', 'SubscriberDialFailedEvent', 'SubscriberSubscribeFailedEvent',
  'ErrorCode', 'WirewardenErrorOptions', 'RemoteErrorOptions',
];

const CHAOS_VALUES = [
  'createChaosProxy', 'createToxiproxyServer',
  'defineScenario', 'detectionBoundMs', 'runScenario', 'formatReport', 'runIfMain',
  'invariant', 'noLostOrDuplicatedRequests', 'everyRequestSucceeds', 'allReadyWithin', 'noFalseDeath', 'detectedWithin',
  'nothingLeftRunning',
  'createSimulatedNetwork', 'SimulatedScheduler', 'VirtualDriver', 'seededRandom',
];

const CHAOS_TYPES = [
  'ChaosProxy', 'ChaosProxyOptions', 'ChaosProxyStats', 'ProxyJson', 'ProxyUpdate', 'ToxiproxyServer', 'ToxiproxyServerOptions',
  'ProxyRegistry', 'ProxyInput', 'ToxicSpec', 'ToxicPatch', 'ToxicJson', 'ToxicStream', 'FrameInspector', 'FrameKind',
  'ChaosLink',
  'RunScenarioOptions', 'ScenarioResult', 'ScenarioPhase', 'ScenarioReport', 'Violation', 'LatencySummary',
  'ScenarioDefinition', 'Scenario', 'ScenarioContext', 'ScenarioServer', 'ScenarioLink', 'ScenarioObservations',
  'Invariant', 'InvariantPhase', 'TimelineStep', 'WorkloadOptions', 'RunMode', 'FaultOptions', 'FaultRecord',
  'DeathRecord', 'DetectionSample', 'RecoveryEpisode', 'RequestCounts', 'ConnectionObservation',
  'SimulatedNetwork', 'SimulatedNetworkOptions', 'SimulatedListener', 'VirtualDriverOptions',
  'ScenarioTarget', 'ScenarioTargetServer', 'ScenarioServerEnv', 'ScenarioPoolEnv', 'ScenarioPoolOptions', 'WorkloadRequest',
  'PhaseOutcome',
];

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
const sorted = (names: readonly string[]) => [...names].sort();

/** Type-only names an entry point exports: `export type { … }` and `type X` inside `export { … }`. */
function exportedTypes(source: string): string[] {
  const names: string[] = [];
  for (const [, typeOnly, list] of source.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
    for (const raw of list!.split(',')) {
      const entry = raw.replace(/\/\/.*$/gm, '').trim();
      if (entry === '') continue;
      const isType = typeOnly !== undefined || entry.startsWith('type ');
      if (isType) names.push(entry.replace(/^type\s+/, '').split(/\s+as\s+/).pop()!);
    }
  }
  return names;
}

/** `import { … } from '<entry>'` in the ```ts blocks of a markdown page: [entry, name] pairs. */
function documentedImports(markdown: string): [string, string][] {
  const found: [string, string][] = [];
  for (const [, block] of markdown.matchAll(/```ts\n([\s\S]*?)```/g)) {
    for (const [, list, from] of block!.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
      for (const raw of list!.split(',')) {
        const name = raw.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
        if (name !== '') found.push([from!, name]);
      }
    }
  }
  return found;
}

const docs = readdirSync(new URL('../docs/', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
const pages = ['README.md', ...docs];
const examples = [
  ...readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => `examples/${f}`),
  ...readdirSync(new URL('../examples/chaos/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => `examples/chaos/${f}`),
];

describe('public API', () => {
  it("'wirewarden' exports exactly the deliberate values", () => {
    expect(sorted(Object.keys(api))).toEqual(sorted(ROOT_VALUES));
  });

  it("'wirewarden/chaos' exports exactly the deliberate values", () => {
    expect(sorted(Object.keys(chaos))).toEqual(sorted(CHAOS_VALUES));
  });

  it('both entry points export exactly the deliberate types', () => {
    expect(sorted(exportedTypes(read('../src/index.ts')))).toEqual(sorted(ROOT_TYPES));
    expect(sorted(exportedTypes(read('../src/chaos/index.ts')))).toEqual(sorted(CHAOS_TYPES));
  });

  it('the entry points re-export explicitly (no `export *`: every name is listed on purpose)', () => {
    expect(read('../src/index.ts')).not.toMatch(/export \*/);
    expect(read('../src/chaos/index.ts')).not.toMatch(/export \*/);
  });

  it('every name the docs import from the package is exported by that entry point', () => {
    const exported: Record<string, Set<string>> = {
      wirewarden: new Set([...ROOT_VALUES, ...ROOT_TYPES]),
      'wirewarden/chaos': new Set([...CHAOS_VALUES, ...CHAOS_TYPES]),
    };
    const missing: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const [from, name] of documentedImports(read(`../${page}`))) {
        if (!(from in exported)) {
        // A subpath the package does not export fails for the user: only the two entries exist.
        if (from === 'wirewarden' || from.startsWith('wirewarden/')) missing.push(`${page}: '${from}' is not an entry point`);
        continue;
      }
        checked++;
        if (!exported[from]!.has(name)) missing.push(`${page}: ${name} from '${from}'`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it('docs and examples import the package, never the source tree', () => {
    const fromSource = /from\s+'(?:\.{1,2}\/)+(?:[\w-]+\/)*src\//;
    const offenders = [
      ...pages.filter((p) => [...read(`../${p}`).matchAll(/```ts\n([\s\S]*?)```/g)].some(([, b]) => fromSource.test(b!))),
      ...examples.filter((e) => fromSource.test(read(`../${e}`))),
    ];
    expect(offenders).toEqual([]);
  });

  it('supports exactly the Node versions that require() the ESM build unflagged, and says so', () => {
    // require(esm) is unflagged from 20.19 and 22.12; 22.0–22.11 still need a flag.
    const manifest = JSON.parse(read('../package.json')) as { engines: { node: string } };
    expect(manifest.engines.node).toBe('^20.19.0 || >=22.12.0');
    expect(read('../README.md')).toContain('`^20.19.0 || >=22.12.0`');
  });

  it('docs show what an installed user can run: no checkout-only CLI entry or example import in their code blocks', () => {
    const offenders: string[] = [];
    for (const page of pages) {
      const text = read(`../${page}`);
      for (const [, block] of text.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)) {
        if (/\bsrc\/cli\.ts\b/.test(block!)) offenders.push(`${page}: a shell block runs src/cli.ts (use npx wirewarden)`);
      }
      for (const [, block] of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
        if (/from\s+'(?:\.{1,2}\/)+examples\//.test(block!)) offenders.push(`${page}: a ts block imports from examples/`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the runtime creates pools and subscribers', async () => {
    const rt = api.createRuntime();
    expect(typeof rt.createPool).toBe('function');
    expect(typeof rt.createSubscriber).toBe('function');
    await rt.shutdown();
  });

  it('createSupervisor builds a nestable supervisor spec that rt.createSupervisor runs', async () => {
    const rt = api.createRuntime();
    const edge = rt.createSupervisor({ id: 'edge', children: [api.createSupervisor({ id: 'inner', children: [] })] });
    expect(edge.children().map((c) => [c.id, c.state])).toEqual([['inner', 'running']]);
    await rt.shutdown();
  });

  it('backoff policies are pure: same inputs, same delay', () => {
    const p = api.exponentialBackoff({ initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 'decorrelated' });
    expect(p.delayMs(3, 400, () => 0.25)).toBe(p.delayMs(3, 400, () => 0.25));
  });
});
