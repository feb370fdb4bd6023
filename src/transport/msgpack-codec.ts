/**
 * msgpackr payloads for one connection: one `Packr` for the outbound direction, one
 * `Unpackr` for the inbound one, both with `useRecords` + `sequential`.
 *
 * Trade-offs:
 * - Records make repeated object shapes compact: a shape is sent once, then referenced by
 *   id. With `sequential`, the decoder must see every encoded frame, in order. That holds
 *   on one ordered stream, so a codec belongs to exactly one connection. Sharing it across
 *   connections would corrupt both.
 * - When an encoded frame is NOT sent (write queue full, frame too large, an encode that
 *   failed half-way), the peer missed any record definition inside it. `resetEncoder()`
 *   swaps in a fresh `Packr`, which redefines every shape inline at its first use. The
 *   stream stays decodable without a round trip (tested).
 * - The price of `sequential`: a frame is not decodable outside its stream. A proxy that
 *   drops frames must let record-defining frames through (src/chaos does), and an
 *   off-thread decoder would need the connection's record table. Plain `useRecords`
 *   (records defined per frame) would lift both limits, at a few bytes per frame.
 * - Each frame is decoded on its own with `unpack` (no `UnpackrStream`). The frame decoder
 *   already bounds sizes, trailing bytes are an error, and a bad frame cannot make msgpackr
 *   buffer an "incomplete" value across frames.
 * - Decode failures become `ProtocolError`. msgpackr's own message for trailing bytes
 *   quotes the decoded value, which could hold a token, so causes carry a sanitised text.
 * - Peer bytes pass `assertPlainMsgpack` (msgpack-plain.ts) before msgpackr sees them:
 *   plain msgpack data and our records only, no structured-clone references, and no more
 *   containers than the frame's bytes pay for, so a frame decodes to a tree of at most one
 *   value per byte and ~55 bytes of heap per byte. The walk keeps a `RecordLedger` beside
 *   the `Unpackr` (the record table as the bytes define it): when a peer has made the
 *   decoder compile records past its allowance, decoding goes on without the compiler
 *   (msgpack-unpackr.ts). A handshake frame may define at most
 *   `HANDSHAKE_MAX_RECORD_DEFINITIONS` records. The encoder matches the gate: it never
 *   writes an extension for plain JS data (`undefined` and an invalid `Date` become nil;
 *   msgpackr already writes a Set as an array, an Error as `[name, message, cause]`, a
 *   RegExp as `[source, flags]`, typed arrays as bin). Dates keep the spec's timestamp.
 * - The `Packr` is created at the first `encode`: it costs ~1.2 KB, ~2 KB once it has
 *   defined a record, for as long as the connection lives, and an idle connection may
 *   never need it (heartbeats bypass the codec, see ping-frames.ts; the handshake uses
 *   `encodeOneOff`). Thousands of idle connections are the case this library is for.
 * - `encodeFramed` encodes behind 4 bytes of room (msgpackr's `RESERVE_START_SPACE`) that
 *   the frame writer fills with the length header: the frame leaves without a copy. The
 *   encoded bytes are the same; msgpackr never writes again into a buffer it returned.
 * - `encodeOneOff` is for messages sent once (handshake, GOAWAY): a throwaway encoder
 *   writes them, with the same bytes a fresh connection encoder would, and the
 *   connection's own encoder is then reset exactly as after a dropped frame, so the
 *   record ids both used cannot be confused by the peer.
 * - The other side of that rule: such a frame defines every record it uses inline and
 *   is never referred to later, so `decodeOneOff` reads the handshake with a throwaway
 *   decoder, and the connection's `Unpackr` (~0.5 KB once it holds a record) is created
 *   at the first frame that carries user data, if any.
 */
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { ProtocolError } from '../errors.js';
import { FRAME_HEADER_BYTES } from './frame-decoder.js';
import { sanitizeDecodeError } from './msgpack-failure.js';
import { assertPlainMsgpack, PLAIN_ENCODER_OPTIONS, RecordLedger } from './msgpack-plain.js';
import { withoutCompiler } from './msgpack-unpackr.js';

const DECODER_OPTIONS = { useRecords: true, sequential: true } as const;

/**
 * Record definitions a handshake frame may hold: our HELLO, HELLO_OK, HELLO_ERR and
 * GOAWAY each define one (their body object); a little room for a future field's object.
 */
export const HANDSHAKE_MAX_RECORD_DEFINITIONS = 4;
const ENCODER_OPTIONS = { ...DECODER_OPTIONS, ...PLAIN_ENCODER_OPTIONS } as const;
/** `pack` flags: leave room for the frame header before the encoding. */
const FRAMED = RESERVE_START_SPACE | FRAME_HEADER_BYTES;

/**
 * Encoder/decoder pair bound to one connection.
 *
 * @example
 * const codec = new MsgpackCodec();
 * writer.write(codec.encode({ op: 'get', key: 'a' }));
 * const value = peerCodec.decode(frame);   // { op: 'get', key: 'a' }
 */
export class MsgpackCodec {
  #packr: Packr | undefined;
  #unpackr: Unpackr | undefined;
  /** The walk's view of `#unpackr`'s record table and this decoder's compile allowance. */
  #ledger: RecordLedger | undefined;
  #packedLedger: RecordLedger | undefined;
  #compilerOff = false;

  /** Encodes one value. The returned buffer is owned by the caller. */
  encode(value: unknown): Buffer {
    return (this.#packr ??= new Packr({ ...ENCODER_OPTIONS })).pack(value);
  }

  /**
   * Encodes one value behind `FRAME_HEADER_BYTES` of room for the frame header, which the
   * caller fills (`FrameWriter.writeFrame`). The returned buffer is owned by the caller.
   */
  encodeFramed(value: unknown): Buffer {
    return (this.#packr ??= new Packr({ ...ENCODER_OPTIONS })).pack(value, FRAMED);
  }

  /**
   * Encodes a message sent once per connection (handshake, GOAWAY) with a throwaway
   * encoder, so that it does not make the connection keep one. Its record definitions
   * overwrite the peer's first slots, so this codec's encoder starts afresh afterwards
   * (the next shape it sends is defined inline again, as after `resetEncoder`).
   */
  encodeOneOff(value: unknown): Buffer {
    const frame = new Packr({ ...ENCODER_OPTIONS }).pack(value);
    this.#packr = undefined;
    return frame;
  }

  /**
   * Decodes one complete frame; throws `ProtocolError` on malformed input and on anything
   * but plain msgpack data (msgpack-plain.ts).
   */
  decode(frame: Buffer): unknown {
    const ledger = (this.#ledger ??= new RecordLedger());
    assertPlainMsgpack(frame, 'msgpack frame', ledger);
    let unpackr = (this.#unpackr ??= new Unpackr({ ...DECODER_OPTIONS }));
    if (ledger.allowance.spent && !this.#compilerOff) {
      // This peer made the decoder compile past its allowance: no more compiling, ever.
      this.#unpackr = unpackr = withoutCompiler(unpackr, DECODER_OPTIONS);
      this.#compilerOff = true;
    }
    return unpack(unpackr, frame);
  }

  /** @internal whether the decoder still compiles record readers (msgpack-unpackr.ts). */
  get compilesRecords(): boolean {
    return !this.#compilerOff;
  }

  /**
   * @internal The ledger for self-contained bytes (PACKED inners) this connection decodes on its own
   * thread: its record table is cleared for each, its compile allowance is the stream's.
   */
  get packedLedger(): RecordLedger {
    return (this.#packedLedger ??= new RecordLedger((this.#ledger ??= new RecordLedger()).allowance));
  }

  /**
   * Decodes a frame that `encodeOneOff` produced on the other side (the peer's
   * handshake) with a throwaway decoder: the records it defines are never referred to
   * again, so this codec's own decoder neither needs nor keeps them.
   */
  decodeOneOff(frame: Buffer): unknown {
    // A handshake needs one record; its few compiles fit any allowance.
    assertPlainMsgpack(frame, 'msgpack frame', new RecordLedger(), HANDSHAKE_MAX_RECORD_DEFINITIONS);
    return unpack(new Unpackr({ ...DECODER_OPTIONS }), frame);
  }

  /** Starts a fresh record table after an encoded frame was not sent. */
  resetEncoder(): void {
    this.#packr = undefined;
  }
}

/** Decodes a frame that passed the gate. */
function unpack(unpackr: Unpackr, frame: Buffer): unknown {
  try {
    return unpackr.unpack(frame);
  } catch (err) {
    throw new ProtocolError(`undecodable msgpack frame of ${frame.length} bytes`, { cause: sanitizeDecodeError(err) });
  }
}
