/**
 * One endpoint as the pool counts it: what `ChooseEndpoint` policies see when a new
 * connection is placed, and what the dispatch balancer (balancer.ts) weighs when a shared
 * dispatch is placed. The counts are the slot table's (slot-table.ts changes them with
 * the slots' states); the latency estimate is fed by the dispatches that settle there.
 *
 *   open, pending            ready / dialing connections to it (SlotTable.move)
 *   inFlight                 dispatches running on its connections (SlotTable.beginDispatch/endDispatch)
 *   latency                  peak-EWMA of those dispatches' latency (peak-ewma.ts)
 *   usable                   the dispatch picker's answer for this pick: one of its
 *                            connections can take a dispatch now (dispatch-picker.ts)
 */
import type { BalanceCandidate } from './balancer.js';
import type { EndpointView } from './connection-source.js';
import type { CircuitBreaker } from './health/circuit-breaker.js';
import type { OutlierHandle } from './health/outlier-detector.js';
import { PeakEwma } from './peak-ewma.js';
import type { PoolEndpoint } from './pool-options.js';

export class EndpointRecord implements EndpointView, BalanceCandidate {
  open = 0;
  pending = 0;
  consecutiveFailures = 0;
  /** Pool time of the first failed dial of the current streak (NaN while dials succeed); set by the table only. */
  failingSince = Number.NaN;
  /** Failed dials and deaths since start. */
  failures = 0;
  /** The handshake refusal (`WW_HANDSHAKE_REFUSED`) while the endpoint refuses us; set by the table only. */
  refused: unknown = undefined;
  /** The error of the last failed dial since the last success (for `health()`). */
  lastError: unknown = undefined;
  /** Dispatches running on its connections. */
  inFlight = 0;
  /** Set by the dispatch picker before each pick: one of its connections can take a dispatch. */
  usable = false;
  /**
   * Endpoint health (endpoint-guards.ts), mirrored here so the lease and dispatch paths read
   * one field: 0 calls go through and successes are counted in bulk (`successes`); 1 each
   * call is judged on its own (a half-open breaker's trials, an endpoint on probation);
   * 2 no new call or dial (breaker open, or ejected); 3 standby: healthy, but outside the
   * active priority group — its connections serve only when the active group's cannot (a
   * scout's connection to a recovered primary waits for the failback). Set by the guards only.
   */
  admit: 0 | 1 | 2 | 3 = 0;
  /** Its breaker's epoch (0 without a breaker): a closed-state call's permit. */
  epoch = 0;
  /** Successes since the guards last handed them to the breaker and the outlier detector. */
  successes = 0;
  /** Its circuit breaker, when the pool has them; owned by the guards. */
  breaker: CircuitBreaker | undefined = undefined;
  /** Its outlier-detection record, when ejection is on; owned by the guards. */
  outlier: OutlierHandle | undefined = undefined;
  /** Its share within its priority group (1..1000). */
  weight: number;
  /** Latency of the dispatches that settled on it. */
  readonly latency: PeakEwma;
  /**
   * Discovery dropped it from the set (pool-discovery.ts): its connections drain and it
   * is no candidate for new ones. Set by the table only.
   */
  removed = false;
  /**
   * It answered a call with Redis's READONLY (a demoted master): its connections retire and
   * none is dialed to it until the provider's next set, or for a while (pool-discovery.ts).
   */
  demoted = false;

  constructor(
    /** Its options (priority, weight); discovery may update them for the same key. */
    public endpoint: PoolEndpoint,
    readonly key: string,
    /** Its position in the pool's current endpoint list (-1 once removed); set by the table only. */
    public index: number,
    latencyDecayMs?: number,
  ) {
    this.weight = endpoint.weight;
    this.latency = new PeakEwma(latencyDecayMs);
  }
}
