/**
 * Pub/sub on one RESP session: which inbound values are confirmations or messages, the
 * subscription count, and the message listeners.
 *
 *   subscribe(['a', 'b']) ──SUBSCRIBE a b──▶ one pipeline entry, 2 confirmations due
 *   inbound  [subscribe a 1] [subscribe b 2]          ──▶ pipeline.confirm ×2, count = 2
 *            [message ch msg] [pmessage pat ch msg]    ──▶ onMessage listeners
 *            anything else                             ──▶ the ordinary reply path
 *
 * Trade-offs:
 * - RESP3 sends confirmations and messages as pushes (`>`), so ordinary commands keep
 *   working between them and nothing else needs a look. RESP2 sends them as plain arrays:
 *   there an array is only taken as pub/sub while the server is in subscriber mode (a
 *   confirmation with count > 0 arrived) or the oldest waiting call expects a
 *   confirmation; a `LRANGE` reply that happens to start with "message" is left alone.
 * - In RESP2 subscriber mode Redis accepts only (P)(UN)SUBSCRIBE, PING, QUIT and RESET,
 *   so the session refuses other commands at once (`refusesCommands`). The probe's PING
 *   still works: Redis answers it with `['pong', '']`, an ordinary reply here.
 * - One confirmation per name, always (Redis confirms a name already subscribed, and an
 *   unsubscribe from a name never subscribed); an error reply (`-NOPERM`) rejects the
 *   whole call through the ordinary path.
 * - A session that is subscribed, or has a pub/sub call in flight, is `active`: the next
 *   lease must not inherit it (`needsReset`).
 */
import { InvalidOptionError } from '../errors.js';
import { encodeCommand, type EncodedCommand } from './resp-encoder.js';
import { callListeners } from './listeners.js';
import type { RespReply } from './resp-parser.js';
import { commandName, type RespPipeline } from './resp-pipeline.js';
import { wordIs } from './resp-words.js';

/** A pub/sub message: `pattern` is set for a PSUBSCRIBE match. Buffers under `returnBuffers`. */
export interface RespMessage {
  readonly channel: string | Buffer;
  readonly message: string | Buffer;
  readonly pattern?: string | Buffer;
}

export type PubSubCommand = 'SUBSCRIBE' | 'PSUBSCRIBE' | 'UNSUBSCRIBE' | 'PUNSUBSCRIBE';

/**
 * Validates and encodes one pub/sub call. Throws `InvalidOptionError` (the message names
 * the method and index, never a name) or `FrameTooLargeError`.
 */
export function encodePubSubCall(command: PubSubCommand, names: readonly (string | Buffer)[], maxBulkBytes: number): EncodedCommand {
  const path = `${command.toLowerCase()}.${command[0] === 'P' ? 'patterns' : 'channels'}`;
  if (!Array.isArray(names) || names.length === 0) {
    throw new InvalidOptionError(`${path} must be a non-empty array of strings or Buffers, got ${Array.isArray(names) ? 'an empty array' : typeof names}`);
  }
  for (let i = 0; i < names.length; i++) {
    const name: unknown = names[i];
    if (!(typeof name === 'string' || name instanceof Uint8Array)) {
      throw new InvalidOptionError(`${path}[${i}] must be a string or a Buffer, got ${name === null ? 'null' : typeof name}`);
    }
  }
  return encodeCommand([command, ...names], maxBulkBytes);
}

/** @internal The pub/sub state of one `RespSession`. */
export class RespPubSub {
  readonly #resp3: boolean;
  #count = 0;
  #calls = 0;
  #listeners: Set<(message: RespMessage) => void> | undefined;

  constructor(protocolVersion: 2 | 3) {
    this.#resp3 = protocolVersion === 3;
  }

  /** Channels + patterns subscribed, from the last confirmation. */
  get count(): number {
    return this.#count;
  }

  /** Subscribed, or a pub/sub call still in flight. */
  get active(): boolean {
    return this.#count > 0 || this.#calls > 0;
  }

  /** RESP2 subscriber mode: Redis would refuse an ordinary command. */
  get refusesCommands(): boolean {
    return !this.#resp3 && this.active;
  }

  /** RESP2: the server is in subscriber mode, so messages may arrive as plain arrays. */
  get #receiving(): boolean {
    return !this.#resp3 && this.#count > 0;
  }

  /** The error for an ordinary command while `refusesCommands`; names the command by its first word. */
  refusal(first: unknown, where: string): InvalidOptionError {
    return new InvalidOptionError(
      `${commandName(first)} refused: the session with ${where} is in RESP2 subscriber mode (${this.#count} subscriptions), ` +
        'where Redis accepts only subscribe, unsubscribe and PING; unsubscribe from everything first, or use protocolVersion 3',
    );
  }

  /** Tracks a call from its write to its settlement; resolves as `answer` does. */
  track(answer: Promise<RespReply>): Promise<void> {
    this.#calls++;
    return answer.then(
      () => void this.#calls--,
      (err: unknown) => {
        this.#calls--;
        throw err;
      },
    );
  }

  onMessage(listener: (message: RespMessage) => void): () => void {
    const listeners = (this.#listeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** After `RESET`: no subscription, no listener (they belonged to the previous lease). */
  clear(): void {
    this.#count = 0;
    this.#listeners = undefined;
  }

  /**
   * Takes `value` when it is a confirmation (counted down on `pipeline`) or a message
   * (delivered) and returns true; false for anything else. Throws `ProtocolError` (from
   * `pipeline.confirm`) for a confirmation nobody waits for.
   */
  take(value: RespReply, isPush: boolean, pipeline: RespPipeline): boolean {
    if (!Array.isArray(value)) return false;
    const receiving = isPush || this.#receiving;
    if (!receiving && (this.#resp3 || !pipeline.awaitsConfirmation)) return false;
    const kind = value[0];
    if (value.length === 4) {
      if (!receiving || !wordIs(kind, 'pmessage')) return false;
      this.#deliver({ pattern: value[1] as string | Buffer, channel: value[2] as string | Buffer, message: value[3] as string | Buffer });
      return true;
    }
    if (value.length !== 3) return false;
    if (wordIs(kind, 'message')) {
      if (!receiving) return false;
      this.#deliver({ channel: value[1] as string | Buffer, message: value[2] as string | Buffer });
      return true;
    }
    if (!(wordIs(kind, 'subscribe') || wordIs(kind, 'psubscribe') || wordIs(kind, 'unsubscribe') || wordIs(kind, 'punsubscribe'))) {
      return false;
    }
    pipeline.confirm(kind, value);
    this.#count = Number(value[2]);
    return true;
  }

  #deliver(message: RespMessage): void {
    if (this.#listeners) callListeners(this.#listeners, message, 'WirewardenMessageListenerWarning');
  }
}
