/**
 * The commands that make a fresh (or `RESET`) Redis connection usable, and the only
 * place that holds the password.
 *
 *   RESP3:  HELLO 3 [AUTH user pass] [SETNAME name]   then SELECT db   (db > 0 only)
 *   RESP2:  AUTH [user] pass   SELECT db   CLIENT SETNAME name          (each when set)
 *
 * Trade-offs:
 * - All steps are pipelined in one write and their replies awaited together: one round
 *   trip whatever the options. A failing AUTH makes the following steps fail too
 *   (NOAUTH); the first failure in order is the one reported.
 * - The credentials live in `#private` fields of a `RespHandshake`, which the session
 *   keeps to re-authenticate after `RESET`. Private fields are invisible to
 *   `JSON.stringify`, `util.inspect` and spreading, and no method returns them except as
 *   command arguments headed for the socket.
 * - Error texts of handshake replies are redacted (every occurrence of the password is
 *   replaced) before they reach a message or a `cause`. Redis does not echo passwords,
 *   but a proxy or a module might.
 * - `HELLO` with AUTH needs a username: `default` when none is given, as redis-cli does.
 */
import { redactSecret } from './redact.js';
import type { RespArg } from './resp-encoder.js';
import type { RespReply } from './resp-parser.js';

/** Options of the handshake that are not secret. */
export interface RespHandshakeOptions {
  readonly protocolVersion: 2 | 3;
  readonly db?: number;
  readonly clientName?: string;
}

/** One pipelined handshake command. `label` names it in messages and holds no secret. */
export interface HandshakeStep {
  readonly label: string;
  readonly args: readonly RespArg[];
}

/** What a RESP3 server says about itself in its `HELLO` reply. */
export interface RespServerInfo {
  /** Redis version, e.g. `7.2.4`. */
  readonly version?: string;
  /** The connection's id (`CLIENT ID`). */
  readonly clientId?: number;
  /** The protocol the server now speaks on this connection. */
  readonly protocolVersion?: number;
}

/** The step `reset` sends before the handshake again (answered `+RESET`). */
export const RESET_STEP: HandshakeStep = Object.freeze({ label: 'RESET', args: Object.freeze(['RESET']) });

/** Builds the handshake; the only holder of the password. */
export class RespHandshake {
  readonly #options: RespHandshakeOptions;
  readonly #username: string | undefined;
  readonly #password: string | undefined;
  #warnedAuthNotRequired = false;

  constructor(options: RespHandshakeOptions, username?: string, password?: string) {
    this.#options = options;
    this.#username = username;
    this.#password = password;
  }

  get protocolVersion(): 2 | 3 {
    return this.#options.protocolVersion;
  }

  /** The database the handshake leaves selected. */
  get db(): number {
    return this.#options.db ?? 0;
  }

  /** The steps to send, in order (possibly none: RESP2, no auth, db 0, no name). */
  steps(): HandshakeStep[] {
    const { protocolVersion, db, clientName } = this.#options;
    const user = this.#username;
    const pass = this.#password;
    const steps: HandshakeStep[] = [];
    if (protocolVersion === 3) {
      const args: RespArg[] = ['HELLO', 3];
      let label = 'HELLO 3';
      if (pass !== undefined) {
        args.push('AUTH', user ?? 'default', pass);
        label += ' AUTH';
      }
      if (clientName !== undefined) args.push('SETNAME', clientName);
      steps.push({ label, args });
    } else if (pass !== undefined) {
      steps.push({ label: 'AUTH', args: user === undefined ? ['AUTH', pass] : ['AUTH', user, pass] });
    }
    if (db !== undefined && db > 0) steps.push({ label: `SELECT ${db}`, args: ['SELECT', db] });
    if (protocolVersion === 2 && clientName !== undefined) {
      steps.push({ label: 'CLIENT SETNAME', args: ['CLIENT', 'SETNAME', clientName] });
    }
    return steps;
  }

  /** `text` with every occurrence of the password replaced by `<redacted>`. */
  redact(text: string): string {
    return redactSecret(text, this.#password);
  }

  /**
   * RESP2 `AUTH` was answered "no password is set": the connection goes on, and the first
   * time (per `resp()` protocol object, not per connection) a process warning says so.
   */
  warnAuthNotRequired(where: string): void {
    if (this.#warnedAuthNotRequired) return;
    this.#warnedAuthNotRequired = true;
    process.emitWarning(
      `resp: the server at ${where} has no password configured for the default user, yet resp.password is set; ` +
        'continuing without authentication. Is the configuration correct?',
      { type: 'WirewardenWarning', code: 'WW_AUTH_NOT_REQUIRED' },
    );
  }

  /** Plain data: never the credentials. */
  toJSON(): { protocolVersion: 2 | 3; auth: boolean } {
    return { protocolVersion: this.#options.protocolVersion, auth: this.#password !== undefined };
  }
}

/**
 * Reads the fields wirewarden reports from a `HELLO` reply (a RESP3 map, or RESP2 pairs).
 * The version is the server's text, so it goes through `redact` like an error text.
 */
export function serverInfoFromHello(reply: RespReply, redact: (text: string) => string = (text) => text): RespServerInfo {
  const get = (key: string): RespReply | undefined => {
    // Keys are Buffers under `returnBuffers`, so compare their text rather than use `get`.
    if (reply instanceof Map) {
      for (const [k, v] of reply) if (String(k) === key) return v;
    }
    if (Array.isArray(reply)) {
      for (let i = 0; i + 1 < reply.length; i += 2) if (String(reply[i]) === key) return reply[i + 1];
    }
    return undefined;
  };
  const version = get('version');
  const id = get('id');
  const proto = get('proto');
  return {
    ...(version === undefined || version === null ? {} : { version: redact(String(version)) }),
    ...(typeof id === 'number' ? { clientId: id } : {}),
    ...(typeof proto === 'number' ? { protocolVersion: proto } : {}),
  };
}
