/**
 * The types in public signatures are exported under the names users see (issue 11): a
 * signature naming a type the entry points do not export leaves users unable to name
 * what they hold. The `expectTypeOf` lines are checked by `npm run typecheck`
 * (tsconfig.json includes test/); before these exports they did not compile.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as chaos from '../../src/chaos/index.js';
import type { ChaosLink, ChaosProxy, RunScenarioOptions, ScenarioPhase } from '../../src/chaos/index.js';
import type {
  ConnectionSnapshot, ConnectionStatePath, ConnectionStateValue, Pem, TlsOptions, WireClientInfo, WireServerConnectionState,
} from '../../src/index.js';

describe('public signatures name exported types', () => {
  it('SimulatedNetwork.link() returns the ChaosLink the docs describe, not an internal class', () => {
    const net = chaos.createSimulatedNetwork({ scheduler: new VirtualTimeScheduler(), random: chaos.seededRandom(1) });
    const link = net.link('10.0.0.1:7000');
    expectTypeOf(link).toEqualTypeOf<ChaosLink>();
    link.addToxic({ name: 'slow', type: 'latency', attributes: { latency: 50 } });
    expect(link.toxics().map((t) => t.name)).toEqual(['slow']);
    net.close();
  });

  it('state, matches(), TLS material, run phases and the proxy have exported names', () => {
    expectTypeOf<WireClientInfo['state']>().toEqualTypeOf<WireServerConnectionState>();
    expectTypeOf<Parameters<ConnectionSnapshot['matches']>[0]>().toEqualTypeOf<ConnectionStatePath | ConnectionStateValue>();
    expectTypeOf<ConnectionSnapshot['value']>().toEqualTypeOf<ConnectionStateValue>();
    expectTypeOf<NonNullable<TlsOptions['ca']>>().toEqualTypeOf<Pem>();
    expectTypeOf<Parameters<NonNullable<RunScenarioOptions['onPhase']>>[0]>().toEqualTypeOf<ScenarioPhase>();
    expectTypeOf(chaos.createChaosProxy).returns.toEqualTypeOf<ChaosProxy>();
    // A proxy is made by createChaosProxy: the class is not a value of the entry point.
    expect('ChaosProxy' in chaos).toBe(false);
  });
});
