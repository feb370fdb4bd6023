/**
 * `ctx.link`: a `ChaosLink` (a proxy, or a simulated link) whose every change is recorded
 * as a fault, so that the report can say which deaths were expected.
 *
 * Each toxic is one fault, from `addToxic` to `removeToxic`; an update that changes its
 * label or its classification ends the fault and starts another, so the report shows
 * each configuration a toxic went through. Latency-like toxics are classified together
 * (their delays add up), so adding or removing one re-classifies the others.
 * `disable()` … `enable()` is one harmful fault; `cut()` an instant one.
 */
import type { ChaosLink } from './chaos-link.js';
import { classifyToxics, describeToxic, type FaultClassification } from './fault-classifier.js';
import type { ScenarioRecorder } from './scenario-recorder.js';
import type { FaultOptions, ScenarioLink } from './scenario-types.js';
import type { ToxicJson, ToxicPatch, ToxicSpec } from './toxic-types.js';

interface OpenFault {
  readonly id: number;
  readonly label: string;
  readonly harmful: boolean;
  /** The step's (or the call's) override, kept across re-classification. */
  readonly override: boolean | undefined;
}

export interface ScenarioLinkOptions {
  readonly link: ChaosLink;
  readonly recorder: ScenarioRecorder;
  /** The detector's threshold for latency-like toxics (`heartbeat.maxTimeoutMs`). */
  readonly thresholdMs: number;
  /** The `harmful` override of the timeline step running now, if any. */
  readonly stepOverride: () => boolean | undefined;
}

/** @internal */
export function createScenarioLink(options: ScenarioLinkOptions): ScenarioLink {
  const { link, recorder, thresholdMs, stepOverride } = options;
  const open = new Map<string, OpenFault>();
  let disabledFault: number | undefined;

  const classify = (override: boolean | undefined, base: FaultClassification): FaultClassification =>
    override === undefined ? base : { harmful: override, reason: `classified ${override ? 'harmful' : 'benign'} by the scenario` };

  /** Brings the open toxic faults in line with the link's toxics. */
  const sync = (overrides: ReadonlyMap<string, boolean | undefined> = new Map()): void => {
    const toxics = link.toxics();
    const classes = classifyToxics(toxics, thresholdMs);
    const present = new Set(toxics.map((t) => t.name));
    for (const [name, fault] of open) {
      if (!present.has(name)) {
        recorder.endFault(fault.id);
        open.delete(name);
      }
    }
    for (const toxic of toxics) {
      const current = open.get(toxic.name);
      const override = overrides.has(toxic.name) ? overrides.get(toxic.name) : current?.override;
      const cls = classify(override, classes.get(toxic.name)!);
      const label = describeToxic(toxic);
      if (current && current.label === label && current.harmful === cls.harmful) continue;
      if (current) recorder.endFault(current.id);
      open.set(toxic.name, { id: recorder.startFault(label, cls), label, harmful: cls.harmful, override });
    }
  };

  const overrideOf = (opts: FaultOptions | undefined) => opts?.harmful ?? stepOverride();

  return {
    get name() {
      return link.name;
    },
    addToxic(spec: ToxicSpec, opts?: FaultOptions): ToxicJson {
      const json = link.addToxic(spec);
      sync(new Map([[json.name, overrideOf(opts)]]));
      return json;
    },
    updateToxic(name: string, patch: ToxicPatch, opts?: FaultOptions): ToxicJson {
      const json = link.updateToxic(name, patch);
      sync(opts?.harmful === undefined && stepOverride() === undefined ? new Map() : new Map([[name, overrideOf(opts)]]));
      return json;
    },
    removeToxic(name: string): void {
      link.removeToxic(name);
      sync();
    },
    resetToxics(): void {
      link.resetToxics();
      sync();
    },
    toxic: (name) => link.toxic(name),
    toxics: () => link.toxics(),
    get enabled() {
      return link.enabled;
    },
    async enable(): Promise<void> {
      await link.enable();
      if (disabledFault !== undefined) recorder.endFault(disabledFault);
      disabledFault = undefined;
    },
    async disable(): Promise<void> {
      disabledFault ??= recorder.startFault(`link ${link.name} disabled`, classify(stepOverride(), { harmful: true, reason: 'refuses and cuts connections' }));
      await link.disable();
    },
    cut(): number {
      recorder.instantFault(`link ${link.name} cut`, classify(stepOverride(), { harmful: true, reason: 'closes every connection' }));
      return link.cut();
    },
    get connections() {
      return link.connections;
    },
  };
}

/**
 * @internal Several links as one (`ctx.link` when the target has several endpoints): every
 * change goes to each; reads come from the first, which mirrors the others as long as
 * changes go through this link (`ctx.links[i]` changes one endpoint alone).
 */
export function fanOutLink(links: readonly ChaosLink[]): ChaosLink {
  const first = links[0]!;
  return {
    name: links.map((l) => l.name).join('+'),
    addToxic: (spec) => {
      const [json] = links.map((l) => l.addToxic(spec));
      return json!;
    },
    updateToxic: (name, patch) => {
      const [json] = links.map((l) => l.updateToxic(name, patch));
      return json!;
    },
    removeToxic: (name) => {
      for (const l of links) l.removeToxic(name);
    },
    resetToxics: () => {
      for (const l of links) l.resetToxics();
    },
    toxic: (name) => first.toxic(name),
    toxics: () => first.toxics(),
    get enabled() {
      return links.every((l) => l.enabled);
    },
    enable: async () => {
      for (const l of links) await l.enable();
    },
    disable: async () => {
      for (const l of links) await l.disable();
    },
    cut: () => links.reduce((n, l) => n + l.cut(), 0),
    get connections() {
      return links.reduce((n, l) => n + l.connections, 0);
    },
  };
}
