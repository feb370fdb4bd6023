/**
 * The msgpackr decoder a wire connection decodes peer bytes with, and the way out of its
 * record compiler once a peer has made it compile too much.
 *
 * msgpackr compiles a reader for a record (`new Function`) at the record's fourth read:
 * ~25–30 µs, ~1.5 µs more per key, which makes repeated shapes decode ~1.5× faster (20k
 * rows: 12.9 ms against 20.1 ms without). A peer that defines a record and reads it four
 * times in ~18 bytes makes the decoder spend ~1.5 µs per byte compiling (60–100× the decode
 * of plain data): 18 ms for an 8 KiB frame, seconds for a megabyte. msgpackr has no option
 * to turn the compiler off, but it ships a build without it (`msgpackr/unpack-no-eval`).
 *
 * Trade-offs:
 * - The gate's walk counts the compiles msgpackr will do (msgpack-plain.ts); while they fit
 *   the decoder's allowance, decoding uses the compiling build, and from the frame that
 *   would overspend it on, the other one, for good. Legitimate traffic compiles each hot
 *   shape once, and keeps the faster reads; a peer whose shapes churn (more than the 64
 *   record slots, each read a few times) lands on the no-compile build, which is also the
 *   cheaper one for such traffic.
 * - The switch keeps the connection's record table (a sequential stream refers back to
 *   earlier frames' records): the same key arrays are handed to the other build with their
 *   readers removed, and it makes its own at their next read. This relies on msgpackr 2.x
 *   keeping its sequential table in `unpackr.structures` and readers on `.read`/`.read0`
 *   (tested, test/transport/msgpack-compile-allowance.test.ts).
 * - The no-compile build is loaded with `require` (it is CommonJS only) once, at the
 *   first switch; it keeps its own module state, like a second copy of msgpackr.
 */
import { createRequire } from 'node:module';
import type { Unpackr } from 'msgpackr';

type UnpackrClass = typeof Unpackr;
type UnpackrOptions = ConstructorParameters<UnpackrClass>[0];

/** A record definition in msgpackr's table: its keys, plus the readers msgpackr hangs on it. */
type RecordStructure = unknown[] & { read?: unknown; read0?: unknown };

let noCompileUnpackr: UnpackrClass | undefined;

/** msgpackr's decoder class without the record compiler. */
export function noCompileUnpackrClass(): UnpackrClass {
  return (noCompileUnpackr ??= (createRequire(import.meta.url)('msgpackr/unpack-no-eval') as { Unpackr: UnpackrClass }).Unpackr);
}

/**
 * A decoder of the no-compile build that carries on `unpackr`'s sequential record table
 * (records defined in earlier frames stay defined). `unpackr` must not be used afterwards.
 *
 * @example
 * if (ledger.allowance.spent) unpackr = withoutCompiler(unpackr, options);
 */
export function withoutCompiler(unpackr: Unpackr, options: UnpackrOptions): Unpackr {
  const next = new (noCompileUnpackrClass())({ ...options });
  const table = (unpackr as unknown as { structures?: Array<RecordStructure | undefined> }).structures;
  if (table !== undefined) {
    for (const structure of table) {
      if (structure === undefined || structure === null) continue;
      // Readers belong to the other build's module state; this one makes its own.
      delete structure.read;
      delete structure.read0;
    }
    (next as unknown as { structures: unknown }).structures = table;
  }
  return next;
}
