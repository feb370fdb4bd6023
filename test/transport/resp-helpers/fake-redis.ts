/**
 * A fake Redis for loopback tests: node:net on 127.0.0.1, a Map per database, RESP2 and
 * RESP3 (HELLO), AUTH with one ACL user, SELECT, CLIENT SETNAME/GETNAME/ID, MULTI/EXEC/
 * DISCARD, RESET, PING, strings, counters and hashes. Pipelining comes for free: every
 * command read is answered in order. It can be told to stop answering (`stalled`), to
 * send garbage, to lack RESET (Redis < 6.2), or to echo the password in its errors (a
 * misbehaving proxy), so tests can check what leaks.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { asStrings, CommandReader } from './command-reader.js';
import { encodeReply, type Reply } from './reply-model.js';

export interface FakeRedisOptions {
  readonly username?: string;
  readonly password?: string;
  /** Answer RESET like Redis ≥ 6.2. Default true. */
  readonly supportsReset?: boolean;
  /** Put the password tried into WRONGPASS errors. Default false. */
  readonly echoPasswordInErrors?: boolean;
}

/** One client connection's server-side state. */
export interface FakeClient {
  readonly id: number;
  readonly socket: Socket;
  proto: 2 | 3;
  authed: boolean;
  db: number;
  name: string | null;
  multi: string[][] | null;
}

const ok: Reply = { t: 'simple', v: 'OK' };
const err = (v: string): Reply => ({ t: 'error', v });
const bulk = (v: string | null, proto: 2 | 3): Reply => (v === null ? (proto === 3 ? { t: 'null' } : { t: 'nullBulk' }) : { t: 'bulk', v: Buffer.from(v) });
const int = (v: number): Reply => ({ t: 'int', v: BigInt(v) });
const unknown = (name: string): Reply => err(`ERR unknown command '${name}', with args beginning with: `);

export class FakeRedis {
  readonly options: FakeRedisOptions;
  readonly commands: string[][] = [];
  readonly clients = new Set<FakeClient>();
  readonly dbs = new Map<number, Map<string, string | Map<string, string>>>();
  /** While true, commands are logged and never answered. */
  stalled = false;
  /** Answers the next command with bytes that are not RESP. */
  garbageNext = false;
  #server: Server | undefined;
  #nextId = 1;
  port = 0;

  constructor(options: FakeRedisOptions = {}) {
    this.options = options;
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

  /** Open client connections. */
  get connections(): number {
    return this.clients.size;
  }

  /** Sends a RESP3 push to every client. */
  push(...items: string[]): void {
    const bytes = encodeReply({ t: 'push', v: items.map((v) => ({ t: 'bulk', v: Buffer.from(v) })) });
    for (const c of this.clients) c.socket.write(bytes);
  }

  /** Destroys every connection and stops listening. */
  async close(): Promise<void> {
    for (const c of this.clients) c.socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const client: FakeClient = {
      id: this.#nextId++, socket, proto: 2, authed: this.options.password === undefined, db: 0, name: null, multi: null,
    };
    this.clients.add(client);
    const reader = new CommandReader();
    socket.on('error', () => {});
    socket.on('close', () => this.clients.delete(client));
    socket.on('data', (chunk: Buffer) => {
      for (const args of reader.push(chunk)) {
        const cmd = asStrings(args);
        this.commands.push(cmd);
        if (this.stalled) continue;
        if (this.garbageNext) {
          this.garbageNext = false;
          socket.write('?this is not RESP\r\n');
          continue;
        }
        const reply = this.#execute(client, cmd);
        if (reply !== undefined) socket.write(encodeReply(reply));
      }
    });
  }

  #db(client: FakeClient): Map<string, string | Map<string, string>> {
    let db = this.dbs.get(client.db);
    if (!db) this.dbs.set(client.db, (db = new Map()));
    return db;
  }

  #checkAuth(user: string, pass: string): Reply | undefined {
    const { username = 'default', password } = this.options;
    if (password === undefined) return err('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    if (user === username && pass === password) return undefined;
    return err(`WRONGPASS invalid username-password pair or user is disabled.${this.options.echoPasswordInErrors ? ` (tried ${pass})` : ''}`);
  }

  #execute(client: FakeClient, cmd: string[]): Reply | undefined {
    const name = (cmd[0] ?? '').toUpperCase();
    const a = cmd.slice(1);
    if (client.multi && !['EXEC', 'DISCARD', 'MULTI', 'RESET'].includes(name)) {
      client.multi.push(cmd);
      return { t: 'simple', v: 'QUEUED' };
    }
    if (!client.authed && !['AUTH', 'HELLO'].includes(name) && !(name === 'RESET' && this.options.supportsReset !== false)) {
      return err('NOAUTH Authentication required.');
    }
    switch (name) {
      case 'HELLO': {
        const proto = a[0] === undefined ? client.proto : Number(a[0]);
        if (proto !== 2 && proto !== 3) return err('NOPROTO unsupported protocol version');
        let name_: string | null = null;
        for (let i = 1; i < a.length; i++) {
          if (a[i]!.toUpperCase() === 'AUTH') {
            const denied = this.#checkAuth(a[i + 1]!, a[i + 2]!);
            if (denied) return denied;
            client.authed = true;
            i += 2;
          } else if (a[i]!.toUpperCase() === 'SETNAME') name_ = a[++i]!;
        }
        if (!client.authed) return err('NOAUTH HELLO must be called with the client already authenticated');
        client.proto = proto;
        if (name_ !== null) client.name = name_;
        const pairs: [Reply, Reply][] = [
          [bulk('server', 3), bulk('redis', 3)], [bulk('version', 3), bulk('7.2.4', 3)], [bulk('proto', 3), int(proto)],
          [bulk('id', 3), int(client.id)], [bulk('mode', 3), bulk('standalone', 3)], [bulk('role', 3), bulk('master', 3)],
        ];
        return proto === 3 ? { t: 'map', v: pairs } : { t: 'array', v: pairs.flat() };
      }
      case 'AUTH': {
        const denied = a.length === 1 ? this.#checkAuth('default', a[0]!) : this.#checkAuth(a[0]!, a[1]!);
        if (denied) return denied;
        client.authed = true;
        return ok;
      }
      case 'PING':
        return a.length > 0 ? bulk(a[0]!, client.proto) : { t: 'simple', v: 'PONG' };
      case 'ECHO':
        return bulk(a[0] ?? '', client.proto);
      case 'SELECT': {
        const db = Number(a[0]);
        if (!Number.isInteger(db) || db < 0 || db > 15) return err('ERR DB index is out of range');
        client.db = db;
        return ok;
      }
      case 'CLIENT': {
        const sub = (a[0] ?? '').toUpperCase();
        if (sub === 'SETNAME') {
          client.name = a[1] ?? null;
          return ok;
        }
        if (sub === 'GETNAME') return bulk(client.name, client.proto);
        if (sub === 'ID') return int(client.id);
        return err(`ERR unknown subcommand '${a[0]}'.`);
      }
      case 'RESET':
        if (this.options.supportsReset === false) return unknown(cmd[0]!);
        Object.assign(client, { proto: 2, db: 0, name: null, multi: null, authed: this.options.password === undefined });
        return { t: 'simple', v: 'RESET' };
      case 'MULTI':
        if (client.multi) return err('ERR MULTI calls can not be nested');
        client.multi = [];
        return ok;
      case 'DISCARD':
        if (!client.multi) return err('ERR DISCARD without MULTI');
        client.multi = null;
        return ok;
      case 'EXEC': {
        if (!client.multi) return err('ERR EXEC without MULTI');
        const queued = client.multi;
        client.multi = null;
        return { t: 'array', v: queued.map((c) => this.#execute(client, c)!) };
      }
      case 'SET':
        this.#db(client).set(a[0]!, a[1]!);
        return ok;
      case 'GET': {
        const v = this.#db(client).get(a[0]!);
        if (v instanceof Map) return err('WRONGTYPE Operation against a key holding the wrong kind of value');
        return bulk(v ?? null, client.proto);
      }
      case 'DEL': {
        let n = 0;
        for (const k of a) if (this.#db(client).delete(k)) n++;
        return int(n);
      }
      case 'INCR': {
        const db = this.#db(client);
        const v = db.get(a[0]!) ?? '0';
        if (typeof v !== 'string' || !/^-?\d+$/.test(v)) return err('ERR value is not an integer or out of range');
        db.set(a[0]!, String(Number(v) + 1));
        return int(Number(v) + 1);
      }
      case 'HSET': {
        const db = this.#db(client);
        let h = db.get(a[0]!);
        if (typeof h === 'string') return err('WRONGTYPE Operation against a key holding the wrong kind of value');
        if (!h) db.set(a[0]!, (h = new Map()));
        let added = 0;
        for (let i = 1; i + 1 < a.length; i += 2) {
          if (!h.has(a[i]!)) added++;
          h.set(a[i]!, a[i + 1]!);
        }
        return int(added);
      }
      case 'HGETALL': {
        const h = this.#db(client).get(a[0]!);
        if (typeof h === 'string') return err('WRONGTYPE Operation against a key holding the wrong kind of value');
        const pairs: [Reply, Reply][] = [...(h ?? new Map<string, string>())].map(([k, v]) => [bulk(k, 2), bulk(v, 2)]);
        return client.proto === 3 ? { t: 'map', v: pairs } : { t: 'array', v: pairs.flat() };
      }
      case 'DBSIZE':
        return int(this.#db(client).size);
      default:
        return unknown(cmd[0]!);
    }
  }
}
