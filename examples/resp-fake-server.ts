/**
 * `resp()` under a supervised pool, against a tiny fake Redis on 127.0.0.1 (so the example
 * needs no redis-server): AUTH + SELECT + CLIENT SETNAME on every connection, commands
 * through `pool.use`, a pipelined burst on one lease, an error reply, `resetOnRelease`
 * (RESET + handshake again) undoing a lease's SELECT, heartbeats as PINGs, and a shutdown
 * that leaves nothing behind.
 *
 * The fake server reads commands (a client command is a RESP array of bulk strings) with a
 * few lines of its own and answers a handful of them from a Map.
 *
 *   npx tsx examples/resp-fake-server.ts
 */
import { createServer, type Socket } from 'node:net';
import { createRuntime, hasCode, resp } from 'wirewarden';

const password = 'example-password'; // in real code: from the environment; never logged

// ── a fake Redis: RESP2, one password, 16 databases ─────────────────────────────────────
const dbs = Array.from({ length: 16 }, () => new Map<string, string>());
const bulk = (s: string | null): string => (s === null ? '$-1\r\n' : `$${Buffer.byteLength(s)}\r\n${s}\r\n`);

function answer(state: { authed: boolean; db: number; name: string | null }, args: string[]): string {
  const [name = '', ...a] = args;
  const cmd = name.toUpperCase();
  if (cmd === 'AUTH') {
    state.authed = a[a.length - 1] === password;
    return state.authed ? '+OK\r\n' : '-WRONGPASS invalid username-password pair or user is disabled.\r\n';
  }
  if (cmd === 'RESET') {
    Object.assign(state, { authed: false, db: 0, name: null });
    return '+RESET\r\n';
  }
  if (!state.authed) return '-NOAUTH Authentication required.\r\n';
  const db = dbs[state.db]!;
  switch (cmd) {
    case 'PING': return '+PONG\r\n';
    case 'SELECT': state.db = Number(a[0]); return '+OK\r\n';
    case 'CLIENT': state.name = a[1] ?? null; return a[0]?.toUpperCase() === 'GETNAME' ? bulk(state.name) : '+OK\r\n';
    case 'SET': db.set(a[0]!, a[1]!); return '+OK\r\n';
    case 'GET': return bulk(db.get(a[0]!) ?? null);
    case 'INCR': {
      const n = Number(db.get(a[0]!) ?? 0) + 1;
      db.set(a[0]!, String(n));
      return `:${n}\r\n`;
    }
    default: return `-ERR unknown command '${name}', with args beginning with: \r\n`;
  }
}

/** The complete commands at the start of `buf`, and the bytes of an incomplete one after them. */
function readCommands(buf: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let done = 0;
  let pos = 0;
  const line = (): string | undefined => {
    const end = buf.indexOf('\r\n', pos);
    if (end < 0) return undefined;
    const text = buf.toString('latin1', pos, end);
    pos = end + 2;
    return text;
  };
  parsing: for (let header = line(); header !== undefined; header = line()) {
    if (!/^\*\d+$/.test(header)) throw new Error('a client command is an array of bulk strings');
    const args: string[] = [];
    for (let n = Number(header.slice(1)); n > 0; n--) {
      const length = line();
      if (length === undefined) break parsing;
      const size = Number(length.slice(1));
      if (buf.length < pos + size + 2) break parsing;
      args.push(buf.toString('utf8', pos, pos + size));
      pos += size + 2;
    }
    commands.push(args);
    done = pos;
  }
  return { commands, rest: buf.subarray(done) };
}

const server = createServer((socket: Socket) => {
  const state = { authed: false, db: 0, name: null as string | null };
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    try {
      const { commands, rest } = readCommands(pending.length === 0 ? chunk : Buffer.concat([pending, chunk]));
      pending = rest;
      for (const args of commands) socket.write(answer(state, args));
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => {});
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
console.log(`fake redis on 127.0.0.1:${port}`);

// ── a supervised pool of Redis connections ──────────────────────────────────────────────
const rt = createRuntime();
const pool = rt.createPool({
  endpoints: [{ host: '127.0.0.1', port }],
  protocol: resp({ password, db: 1, clientName: 'example', requestTimeoutMs: 2000 }),
  min: 2,
  max: 4,
  acquireTimeoutMs: 2000,
  resetOnRelease: true,
  heartbeat: { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 500 },
});

await pool.use((conn) => conn.command(['SET', 'greeting', 'hello from db 1']));
console.log('GET greeting →', await pool.use((conn) => conn.command(['GET', 'greeting'])));

// Pipelining: ten commands written at once on one connection, replies matched in order.
const counts = await pool.use((conn) => Promise.all(Array.from({ length: 10 }, () => conn.command<number>(['INCR', 'hits']))));
console.log('pipelined INCR ×10 →', counts.join(' '));

try {
  await pool.use((conn) => conn.command(['FLUSHEVERYTHING']));
} catch (err) {
  if (!hasCode(err, 'WW_REMOTE_ERROR')) throw err;
  console.log(`error reply → ${err.name} (${(err.cause as { code: string }).code}): ${err.message}`);
}

// A lease that switches database; resetOnRelease puts the connection back on db 1.
await pool.use(async (conn) => {
  await conn.command(['SELECT', '5']);
  console.log('inside a lease, after SELECT 5: GET greeting →', await conn.command(['GET', 'greeting']));
});
console.log('next lease (after RESET + AUTH + SELECT 1): GET greeting →', await pool.use((conn) => conn.command(['GET', 'greeting'])));

await new Promise((r) => setTimeout(r, 500)); // let the heartbeat PING idle connections
console.log('connections:', pool.connections().map((c) => `${c.id} ${c.state} rtt=${c.rttMs?.toFixed(2) ?? '-'}ms`).join(', '));

await rt.shutdown();
await new Promise<void>((resolve) => server.close(() => resolve()));
await new Promise((r) => setTimeout(r, 10)); // the listening handle is released just after close()
const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap'); // stdout
console.log('shut down; left behind:', left.length === 0 ? 'nothing' : left);
