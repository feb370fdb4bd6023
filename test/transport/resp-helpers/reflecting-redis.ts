/**
 * A hostile "Redis" on 127.0.0.1 that reflects the password it is sent back into its
 * replies (a misbehaving proxy or module, or an attacker probing what a client logs), in
 * each form a reply can quote it: a line that is not RESP, an error reply, a malformed
 * length, a HELLO version, or any of these only after a successful AUTH.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { asStrings, CommandReader } from './command-reader.js';

export type ReflectMode =
  /** The command carrying the password is answered with a non-RESP line quoting it. */
  | 'line'
  /** The same line, written in pieces that cut through the password. */
  | 'split-line'
  /** `-ERR … <password>`: a failure a retry might fix. */
  | 'error'
  /** `-WRONGPASS <password> …`: a refusal. */
  | 'wrongpass'
  /** `*<password>`: a malformed aggregate length. */
  | 'bad-length'
  /** HELLO answered with a map whose `version` quotes the password; the rest answered normally. */
  | 'hello-version'
  /** AUTH accepted; every later command answered with a non-RESP line quoting the password. */
  | 'after-auth-line'
  /** AUTH accepted; every later command answered `-ERR … <password>`. */
  | 'after-auth-error';

export class ReflectingRedis {
  readonly #password: string;
  readonly #mode: ReflectMode;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(password: string, mode: ReflectMode) {
    this.#password = password;
    this.#mode = mode;
  }

  async listen(): Promise<this> {
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  get connections(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new CommandReader();
    let authed = false;
    socket.on('data', (chunk: Buffer) => {
      for (const args of reader.push(chunk)) {
        const command = asStrings(args);
        const carriesPassword = command.includes(this.#password);
        if (carriesPassword) authed = true;
        this.#answer(socket, command, carriesPassword, authed);
      }
    });
  }

  #answer(socket: Socket, command: string[], carriesPassword: boolean, authed: boolean): void {
    const pw = this.#password;
    const name = command[0]!.toUpperCase();
    const normal = name === 'PING' ? '+PONG\r\n' : '+OK\r\n';
    switch (this.#mode) {
      case 'line':
        return void socket.write(carriesPassword ? `Invalid password ${pw} for this proxy\r\n` : normal);
      case 'split-line': {
        if (!carriesPassword) return void socket.write(normal);
        const pieces = ['Invalid password ', pw.slice(0, 9), pw.slice(9, 21), `${pw.slice(21)} for this proxy\r\n`];
        const next = (): void => {
          const piece = pieces.shift();
          if (piece !== undefined && !socket.destroyed) socket.write(piece, () => setImmediate(next));
        };
        return next();
      }
      case 'error':
        return void socket.write(carriesPassword ? `-ERR proxy refused the password ${pw} (try later)\r\n` : normal);
      case 'wrongpass':
        return void socket.write(carriesPassword ? `-WRONGPASS ${pw} is not the password\r\n` : normal);
      case 'bad-length':
        return void socket.write(carriesPassword ? `*${pw}\r\n` : normal);
      case 'hello-version': {
        if (name !== 'HELLO') return void socket.write(normal);
        const version = `7.2.4-${pw}`;
        return void socket.write(
          `%3\r\n$7\r\nversion\r\n$${Buffer.byteLength(version)}\r\n${version}\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n`,
        );
      }
      case 'after-auth-line':
        return void socket.write(carriesPassword || !authed ? normal : `No: ${pw}\r\n`);
      case 'after-auth-error':
        return void socket.write(carriesPassword || !authed ? normal : `-ERR the holder of ${pw} may not do this\r\n`);
    }
  }
}
