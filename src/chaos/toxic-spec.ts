/**
 * Turns what a user (or an HTTP client) says about a toxic into a validated entry, with
 * Toxiproxy's defaults: stream `downstream`, toxicity 1, name `<type>_<stream>`, absent
 * attributes at their defaults (Toxiproxy's zero values). Unlike Toxiproxy, an unknown
 * attribute is refused rather than ignored: a typo (`latecy`) must not silently turn a
 * toxic into a no-op.
 */
import { InvalidOptionError } from '../errors.js';
import { custom, number, oneOf, optional, parseOptions, shape, string } from '../options.js';
import type { PipelineToxic } from './toxic-pipeline.js';
import type { ToxicDefinition, ToxicJson, ToxicPatch, ToxicSpec, ToxicStream } from './toxic-types.js';

/** A toxic attached to a proxy: what the API shows plus the resolved definition. */
export interface ToxicEntry extends PipelineToxic {
  readonly type: string;
  readonly stream: ToxicStream;
  readonly attributes: Readonly<Record<string, unknown>>;
}

const isPlainObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

const specSchema = shape({
  name: optional(string({ nonEmpty: true })),
  type: string({ nonEmpty: true }),
  stream: oneOf(['upstream', 'downstream'] as const, { default: 'downstream' }),
  toxicity: number({ min: 0, max: 1, default: 1 }),
  attributes: custom<Record<string, unknown>>('an object', isPlainObject, { default: () => ({}) }),
});

const patchSchema = shape({
  toxicity: optional(number({ min: 0, max: 1 })),
  attributes: optional(custom<Record<string, unknown>>('an object', isPlainObject)),
});

function checkAttributes(
  definition: ToxicDefinition<object, unknown>,
  attributes: Record<string, unknown>,
): Readonly<Record<string, unknown>> {
  const path = 'toxic.attributes';
  const parsed = parseOptions(path, definition.attributes, attributes);
  definition.validate?.(parsed, path);
  return parsed as Readonly<Record<string, unknown>>;
}

/** Validates a new toxic; throws `InvalidOptionError` naming the bad field. */
export function parseToxicSpec(spec: ToxicSpec, definitions: ReadonlyMap<string, ToxicDefinition<object, unknown>>): ToxicEntry {
  const s = parseOptions('toxic', specSchema, spec);
  const definition = definitions.get(s.type);
  if (!definition) {
    throw new InvalidOptionError(
      `toxic.type must be one of ${[...definitions.keys()].map((t) => JSON.stringify(t)).join(', ')}, got ${JSON.stringify(s.type)}`,
    );
  }
  return Object.freeze({
    name: s.name ?? `${s.type}_${s.stream}`,
    type: s.type,
    stream: s.stream,
    toxicity: s.toxicity,
    attributes: checkAttributes(definition, s.attributes),
    definition,
  });
}

/** Applies an update: toxicity replaced if given, attributes merged into the current ones. */
export function patchToxic(entry: ToxicEntry, patch: ToxicPatch): ToxicEntry {
  const p = parseOptions('toxic', patchSchema, patch);
  return Object.freeze({
    ...entry,
    toxicity: p.toxicity ?? entry.toxicity,
    attributes: p.attributes ? checkAttributes(entry.definition, { ...entry.attributes, ...p.attributes }) : entry.attributes,
  });
}

export function toxicJson(entry: ToxicEntry): ToxicJson {
  return { name: entry.name, type: entry.type, stream: entry.stream, toxicity: entry.toxicity, attributes: { ...entry.attributes } };
}
