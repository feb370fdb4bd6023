/**
 * The simulated network's link to one listening address: the toxics every connection to
 * that address goes through, as a chaos proxy in front of it would apply them. A link
 * outlives the listener behind it, so toxics set before a server starts, or kept while it
 * restarts, apply to every new connection.
 *
 * Toxic bookkeeping follows `ChaosProxy` exactly (validation, defaults, names, order,
 * toxicity rolled per connection, live connections following every change), so a
 * scenario written against a proxy behaves the same here.
 */
import { ToxicExistsError, ToxicNotFoundError } from '../errors.js';
import type { ChaosLink } from './chaos-link.js';
import type { SimulatedConnection } from './simulated-connection.js';
import { patchToxic, parseToxicSpec, toxicJson, type ToxicEntry } from './toxic-spec.js';
import type { ToxicJson, ToxicPatch, ToxicSpec, ToxicStream } from './toxic-types.js';
import { builtinToxics } from './toxics/index.js';

/** @internal what a link needs from its network. */
export interface LinkHost {
  /** Live connections to this link's address. */
  connections(): Iterable<SimulatedConnection>;
}

/**
 * A simulated network's faults for one address (`net.link('10.0.0.1:7000')`).
 *
 * @example
 * const link = net.link('10.0.0.1:7000');
 * link.addToxic({ type: 'latency', attributes: { latency: 80 } });
 * await link.disable(); // dials refused, live connections cut
 */
export class SimulatedLink implements ChaosLink {
  readonly name: string;
  readonly #host: LinkHost;
  #toxics: ToxicEntry[] = [];
  #enabled = true;

  /** @internal links are made by `SimulatedNetwork.link()`. */
  constructor(name: string, host: LinkHost) {
    this.name = name;
    this.#host = host;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get connections(): number {
    let n = 0;
    for (const _ of this.#host.connections()) n++;
    return n;
  }

  /** @internal the toxics a new connection starts with. */
  entries(): readonly ToxicEntry[] {
    return this.#toxics;
  }

  addToxic(spec: ToxicSpec): ToxicJson {
    const entry = parseToxicSpec(spec, builtinToxics);
    if (this.#toxics.some((t) => t.name === entry.name)) {
      throw new ToxicExistsError(`toxic ${JSON.stringify(entry.name)} already exists on link ${JSON.stringify(this.name)}`);
    }
    this.#toxics = [...this.#toxics, entry];
    for (const conn of this.#host.connections()) conn.attach(entry);
    return toxicJson(entry);
  }

  updateToxic(name: string, patch: ToxicPatch): ToxicJson {
    const current = this.#find(name);
    const next = patchToxic(current, patch);
    this.#toxics = this.#toxics.map((t) => (t === current ? next : t));
    for (const conn of this.#host.connections()) conn.update(next);
    return toxicJson(next);
  }

  removeToxic(name: string): void {
    const entry = this.#find(name);
    this.#toxics = this.#toxics.filter((t) => t !== entry);
    for (const conn of this.#host.connections()) conn.detach(entry);
  }

  resetToxics(): void {
    for (const entry of [...this.#toxics]) this.removeToxic(entry.name);
  }

  toxic(name: string): ToxicJson | undefined {
    const entry = this.#toxics.find((t) => t.name === name);
    return entry && toxicJson(entry);
  }

  toxics(): ToxicJson[] {
    const order: ToxicStream[] = ['upstream', 'downstream'];
    return order.flatMap((stream) => this.#toxics.filter((t) => t.stream === stream).map(toxicJson));
  }

  enable(): Promise<void> {
    this.#enabled = true;
    return Promise.resolve();
  }

  disable(): Promise<void> {
    this.#enabled = false;
    this.cut();
    return Promise.resolve();
  }

  cut(): number {
    const conns = [...this.#host.connections()];
    for (const conn of conns) conn.destroy();
    return conns.length;
  }

  #find(name: string): ToxicEntry {
    const entry = this.#toxics.find((t) => t.name === name);
    if (!entry) throw new ToxicNotFoundError(`no toxic ${JSON.stringify(name)} on link ${JSON.stringify(this.name)}`);
    return entry;
  }
}
