/**
 * `ChaosLink`: the faults a scenario can put on the path between its clients and its
 * server, the same in both run modes. On real sockets it is a `ChaosProxy`; on the
 * simulated network it is the in-memory link to a listening address. Toxics keep
 * Toxiproxy's type and attribute names in both, and run the same implementations.
 *
 * `disable()` refuses new connections and cuts the live ones (a proxy's listener closed);
 * `cut()` closes the live connections and keeps accepting new ones.
 */
import type { ChaosProxy } from './chaos-proxy.js';
import type { ToxicJson, ToxicPatch, ToxicSpec } from './toxic-types.js';

export interface ChaosLink {
  readonly name: string;
  /** Adds a toxic; live connections get it at once. Throws `ToxicExistsError`, `InvalidOptionError`. */
  addToxic(spec: ToxicSpec): ToxicJson;
  /** Merges attributes / replaces toxicity. Throws `ToxicNotFoundError`, `InvalidOptionError`. */
  updateToxic(name: string, patch: ToxicPatch): ToxicJson;
  /** Removes a toxic; what it held goes on. Throws `ToxicNotFoundError`. */
  removeToxic(name: string): void;
  resetToxics(): void;
  toxic(name: string): ToxicJson | undefined;
  /** Upstream toxics first, then downstream, each in the order added. */
  toxics(): ToxicJson[];
  readonly enabled: boolean;
  enable(): Promise<void>;
  /** Refuses new connections and cuts the live ones. */
  disable(): Promise<void>;
  /** Closes every live connection now; returns how many were cut. */
  cut(): number;
  /** Live connections through the link. */
  readonly connections: number;
}

/**
 * A `ChaosProxy` seen as a `ChaosLink`.
 *
 * @example
 * const link = proxyLink(createChaosProxy({ name: 'api', upstream: '127.0.0.1:7000' }));
 * link.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
 */
export function proxyLink(proxy: ChaosProxy): ChaosLink {
  return {
    get name() {
      return proxy.name;
    },
    addToxic: (spec) => proxy.addToxic(spec),
    updateToxic: (name, patch) => proxy.updateToxic(name, patch),
    removeToxic: (name) => proxy.removeToxic(name),
    resetToxics: () => proxy.resetToxics(),
    toxic: (name) => proxy.toxic(name),
    toxics: () => proxy.toxics(),
    get enabled() {
      return proxy.enabled;
    },
    enable: () => proxy.enable(),
    disable: () => proxy.disable(),
    cut: () => proxy.cutConnections(),
    get connections() {
      return proxy.stats.connections;
    },
  };
}
