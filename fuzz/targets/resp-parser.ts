/**
 * Target `resp-parser`: `RespParser` (src/transport/resp-parser.ts) fed generated,
 * hostile and mutated replies, whole and in random chunks.
 *
 * An input is one byte stream: 1–5 well-formed replies (kept as they are one time in
 * four, otherwise mutated: bytes flipped, cut, spliced, RESP tokens inserted), or a
 * hostile reply (nesting 300 000 deep, lengths past the limits, lines without an end,
 * bad numbers), or random bytes; parser options vary (`returnBuffers`, small limits).
 * Contract checked:
 * - `push` returns or throws a coded error (`WW_PROTOCOL_ERROR`, `WW_FRAME_TOO_LARGE`);
 * - the replies emitted and the error do not depend on how the stream is chunked;
 * - well-formed replies within the limits decode to the model's values, in order.
 */
import { RespParser, type ReplyKind, type RespReply } from '../../src/transport/resp-parser.js';
import { hostileReply, respReplies } from '../generators/resp-replies.js';
import { mutate, randomChunks } from '../mutators.js';
import { describeError, errorCode, isCoded, sameValue } from '../oracles.js';
import { Rng } from '../random.js';
import { runCases, type FuzzTarget, type TargetContext } from '../target.js';

const DICTIONARY = [
  '\r\n', '\r', '\n', '*', '$', '%', '~', '>', '|', '_', '#', ',', '(', '=', '!', ':', '+', '-', '-1', '0', '*-1\r\n', '$-1\r\n',
  '*1\r\n', '%1\r\n', '|1\r\n', '>1\r\n', '$0\r\n\r\n', '4294967295', '99999999999999999', ',inf\r\n', '=3\r\nabc\r\n',
].map((t) => Buffer.from(t));

interface Outcome {
  readonly kinds: ReplyKind[];
  readonly values: RespReply[];
  readonly error: unknown;
  readonly idle: boolean;
}

function parse(chunks: readonly Buffer[], options: ConstructorParameters<typeof RespParser>[1]): Outcome {
  const kinds: ReplyKind[] = [];
  const values: RespReply[] = [];
  const parser = new RespParser((value, kind) => {
    kinds.push(kind);
    values.push(value);
  }, options);
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (err) {
    return { kinds, values, error: err, idle: parser.idle };
  }
  return { kinds, values, error: undefined, idle: parser.idle };
}

export const respParserTarget: FuzzTarget = {
  name: 'resp-parser',
  summary: 'RespParser fed generated, hostile and mutated RESP2/RESP3 replies, whole and in random chunks',
  async run(context: TargetContext) {
    const { seed } = context;
    await runCases(context, (index, report) => {
      const rng = Rng.forCase(seed, 'resp-parser', index);
      const returnBuffers = rng.chance(0.5);
      const options = {
        returnBuffers,
        maxBulkBytes: rng.chance(0.8) ? undefined : rng.pick([0, 16, 256, 65_536]),
        maxAggregateLength: rng.chance(0.8) ? undefined : rng.pick([0, 2, 16, 1000]),
      };
      const generated = respReplies(rng, { returnBuffers });
      const mode = rng.weighted([1, 2, 0.6, 0.2]);
      const input =
        mode === 0 ? generated.bytes
        : mode === 1 ? mutate(rng, generated.bytes, { dictionary: DICTIONARY })
        : mode === 2 ? (rng.chance(0.7) ? hostileReply(rng) : mutate(rng, hostileReply(rng), { dictionary: DICTIONARY, maxMutations: 2 }))
        : rng.bytes(rng.size(2048));
      report.inputs++;

      const started = performance.now();
      const whole = parse([input], options);
      report.timedInput(performance.now() - started);
      const split = parse(randomChunks(rng, input, 512), options);
      for (const outcome of [whole, split]) {
        if (outcome.error !== undefined && !isCoded(outcome.error)) {
          report.record('uncoded', `push threw ${describeError(outcome.error)}`, index, input);
          return;
        }
      }
      if (
        errorCode(whole.error) !== errorCode(split.error) ||
        // After a throw the parser's state is lost by contract; only a clean end must agree.
        (whole.error === undefined && whole.idle !== split.idle) ||
        !sameValue(whole.kinds, split.kinds) || !sameValue(whole.values, split.values)
      ) {
        report.record('mismatch', `whole: ${whole.values.length} replies, ${errorCode(whole.error)}; chunked: ${split.values.length} replies, ${errorCode(split.error)}`, index, input);
        return;
      }
      const withinLimits = generated.maxBulkBytes <= (options.maxBulkBytes ?? Infinity) && generated.maxAggregateLength <= (options.maxAggregateLength ?? Infinity);
      if (mode === 0 && withinLimits) {
        const ok =
          whole.error === undefined && whole.idle &&
          sameValue(whole.kinds, generated.expected.map((e) => e.kind)) && sameValue(whole.values, generated.expected.map((e) => e.value));
        if (!ok) report.record('mismatch', `well-formed replies decoded otherwise: ${whole.values.length} of ${generated.expected.length} (${errorCode(whole.error)})`, index, input);
      }
    });
  },
};
