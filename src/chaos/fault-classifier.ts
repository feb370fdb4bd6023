/**
 * Which toxics a healthy failure detector must survive (benign) and which it is expected
 * to report (harmful). The line is the detector's own threshold: a probe is declared
 * lost only after `heartbeat.maxTimeoutMs` at the most, so added delay below it must
 * never kill a connection — at worst it causes a false suspicion.
 *
 * - `latency` and `stall` delay every byte: benign while the round trip they add — the
 *   sum of `latency + jitter` and `stall_ms` over both directions of the link — stays
 *   below `maxTimeoutMs`. The sum is over all such toxics present, so stacking two
 *   small ones can cross the line.
 * - `slicer`, `wire_delay_responses` (PONGs pass at once) and `wire_fail_requests`
 *   (requests fail, the connection lives) do not touch liveness: benign.
 * - Everything else (`timeout`, `reset_peer`, `limit_data`, `slow_close`, `bandwidth`,
 *   `wire_drop_pongs`, unknown types) can silence or close a connection: harmful.
 *
 * A scenario step can override the classification (`harmful: true | false`) when it
 * knows better, e.g. a bandwidth limit far above its traffic.
 */
import type { ToxicJson } from './toxic-types.js';

export interface FaultClassification {
  readonly harmful: boolean;
  readonly reason: string;
}

const LIVENESS_NEUTRAL = new Set(['slicer', 'wire_delay_responses', 'wire_fail_requests']);

/** Round-trip delay a toxic adds to every byte (latency-like toxics), else undefined. */
function addedDelayMs(toxic: ToxicJson): number | undefined {
  const a = toxic.attributes as Record<string, number | undefined>;
  if (toxic.type === 'latency') return (a.latency ?? 0) + (a.jitter ?? 0);
  if (toxic.type === 'stall') return a.stall_ms ?? 0;
  return undefined;
}

/**
 * Classifies every toxic of a link against the detector's threshold.
 *
 * @example
 * classifyToxics(link.toxics(), 400).get('latency_downstream'); // { harmful: false, reason: 'adds 150 ms …' }
 */
export function classifyToxics(toxics: readonly ToxicJson[], thresholdMs: number): Map<string, FaultClassification> {
  let totalDelayMs = 0;
  for (const t of toxics) totalDelayMs += addedDelayMs(t) ?? 0;
  const out = new Map<string, FaultClassification>();
  for (const t of toxics) {
    const delay = addedDelayMs(t);
    if (delay !== undefined) {
      const harmful = totalDelayMs >= thresholdMs;
      const stacked = totalDelayMs === delay ? '' : ` (${totalDelayMs} ms with the other delays on the link)`;
      out.set(t.name, {
        harmful,
        reason: `adds up to ${delay} ms${stacked}, ${harmful ? 'at or above' : 'below'} the detector's ${thresholdMs} ms threshold (heartbeat.maxTimeoutMs)`,
      });
    } else if (LIVENESS_NEUTRAL.has(t.type)) {
      out.set(t.name, { harmful: false, reason: `${t.type} does not affect liveness` });
    } else {
      out.set(t.name, { harmful: true, reason: `${t.type} can silence or close connections` });
    }
  }
  return out;
}

/** `toxic latency_downstream (latency 150, jitter 0)`: a label for reports. */
export function describeToxic(toxic: ToxicJson): string {
  const attrs = Object.entries(toxic.attributes)
    .filter(([k]) => k !== 'max_frame_bytes')
    .map(([k, v]) => `${k} ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
  const toxicity = toxic.toxicity < 1 ? `, toxicity ${toxic.toxicity}` : '';
  return `toxic ${toxic.name} (${toxic.type} ${toxic.stream}${attrs ? `: ${attrs}` : ''}${toxicity})`;
}
