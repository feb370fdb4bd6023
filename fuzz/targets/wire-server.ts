/**
 * Target `wire-server`: a real `createWireServer` on 127.0.0.1 fed raw bytes over real
 * sockets by a bounded set of concurrent fuzz clients, with a good client (`wire()` over
 * `tcp()`) that must still be served after every hostile connection.
 *
 * A case is one connection: an opening (a valid HELLO, a bad token or version, or pre-auth
 * garbage: random bytes, a huge length, a hostile payload, a REQ or PACKED before HELLO, an
 * oversized HELLO), then batches of 1–16 well-formed client frames (REQ, MSG, PING, PONG,
 * GOAWAY, some PACKED) encoded as a real client encodes them, each batch closed by a
 * sentinel PING. About one batch in three ends in a hostile frame (a mutation of a valid
 * frame, a tampered length, a hostile msgpack payload, a second HELLO, random bytes); the
 * fuzz client then ends its side and waits for the server to close. An input is one frame
 * (or opening) the server had to read: frames of clean batches, and those of a hostile
 * batch up to its hostile frame.
 *
 * Contract checked:
 * - the process survives (no uncaught exception, no unhandled rejection: the monitor);
 * - every error a server socket dies with is coded, or a socket error from the peer
 *   (`ECONNRESET`, `EPIPE`); so is every error `onClientDropped` reports;
 * - a valid HELLO gets HELLO_OK; a clean batch gets its sentinel PONG without the server
 *   closing; every REQ of a clean batch gets a RES or ERR;
 * - after a fuzz client ends, the server closes the connection (within 10 s);
 * - a first frame declaring 64 KiB or more before HELLO is refused by the server on its
 *   own, within 2 s (nothing big is accepted before authentication);
 * - requests whose handler misbehaves (hostile-handler.ts) are answered all the same;
 * - the good client is answered after every case;
 * - after `close()`, nothing listens on the port and no socket is left.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { asyncScheduler } from 'rxjs';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { encodePingPayload } from '../../src/transport/ping-frames.js';
import { tcp } from '../../src/transport/tcp.js';
import { MessageType as T, parseWireMessage } from '../../src/transport/wire-messages.js';
import { createWireServer, type WireClientDropped } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { hostileFrame, opening } from '../generators/wire-client-frames.js';
import { frame, randomMessage, WirePeer } from '../generators/wire-messages.js';
import { settlesWithin } from '../deadline.js';
import { hostileHandler } from '../hostile-handler.js';
import { checkClosed, tcpHandles } from '../net-checks.js';
import { describeError, isCoded, sameValue } from '../oracles.js';
import { Rng } from '../random.js';
import type { FuzzTarget, TargetContext } from '../target.js';
import { FuzzConnection } from '../wire-client.js';

const TOKEN = 'fuzz-token';
/** Fuzz clients at once: enough to keep both cores busy, far below `maxHandshakingClients`. */
const CLIENTS = 16;
/** How long the server may take to close a connection the fuzz client ended. */
const CLOSE_DEADLINE_MS = 10_000;
/** A HELLO needs a few hundred bytes; a server waiting for this many before one holds too much. */
const PRE_AUTH_BOUND_BYTES = 64 * 1024;
/** How long the server may take to refuse such a frame on its own. */
const PRE_AUTH_DEADLINE_MS = 2000;
/** How long a clean batch may take to be answered. */
const ANSWER_DEADLINE_MS = 10_000;

/** A socket error caused by the peer going away: not a finding. */
function isPeerSocketError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

interface ServerWatch {
  /** Remote port of a fuzz connection → its case, for errors seen on the server side. */
  readonly cases: Map<number, number>;
}

function helloAnswered(first: Buffer | undefined): boolean {
  try {
    return first !== undefined && parseWireMessage(new MsgpackCodec().decodeOneOff(first)).type === T.HELLO_OK;
  } catch {
    return false;
  }
}

async function runConnection(index: number, port: number, context: TargetContext, watch: ServerWatch): Promise<void> {
  const { report, seed } = context;
  const rng = Rng.forCase(seed, 'wire-server', index);
  const peer = new WirePeer();
  let conn: FuzzConnection;
  try {
    conn = await FuzzConnection.open(port);
  } catch (err) {
    report.record('unserved', `fuzz client could not connect: ${describeError(err)}`, index);
    return;
  }
  const localPort = conn.socket.localPort!;
  watch.cases.set(localPort, index);
  try {
    const open = opening(rng, peer, TOKEN);
    report.inputs++;
    conn.socket.write(open.bytes);
    let cleanRequests = 0;
    let sentinel = 0;
    // Pre-auth garbage: nothing big is accepted before HELLO, so a first frame declaring
    // PRE_AUTH_BOUND_BYTES or more must be refused without the client's help; then the
    // client ends its side and the server must close.
    let ended = !open.validHello;
    if (ended && open.bytes.length >= 4 && open.bytes.readUInt32BE(0) >= PRE_AUTH_BOUND_BYTES && !(await conn.whenClosed(PRE_AUTH_DEADLINE_MS))) {
      report.record('unbounded', `a first frame declaring ${open.bytes.readUInt32BE(0)} bytes before HELLO kept the connection open ${PRE_AUTH_DEADLINE_MS} ms`, index, open.bytes);
    }
    if (ended) conn.socket.end();
    const batches = rng.int(1, 24);
    for (let b = 0; b < batches && !ended; b++) {
      const hostile = rng.chance(0.35);
      const size = rng.int(1, 16);
      const frames: Buffer[] = [];
      const donors: Buffer[] = [];
      let requests = 0;
      for (let k = 0; k < size; k++) {
        const msg = randomMessage(rng, 'client');
        const encoded = frame(peer.encode(msg, rng.chance(0.15)).payload);
        if (hostile && k === size - 1) {
          frames.push(hostileFrame(rng, encoded, donors));
        } else {
          frames.push(encoded);
          donors.push(encoded);
          if (msg.type === T.REQ) requests++;
        }
      }
      report.inputs += frames.length;
      const id = ++sentinel;
      frames.push(frame(encodePingPayload(T.PING, id)!));
      const bytes = Buffer.concat(frames);
      const answered = conn.answered(id, ANSWER_DEADLINE_MS);
      conn.socket.write(bytes);
      if (hostile) {
        conn.socket.end();
        ended = true;
        break;
      }
      const result = await answered;
      if (result !== true) {
        report.record('unserved', `clean batch ${b} of ${size} frames ${result === 'timeout' ? 'not answered in time' : 'made the server close'}`, index, bytes);
        conn.socket.destroy();
        ended = true;
        break;
      }
      cleanRequests += requests;
      // Checked once a batch was answered: a server that drops the client on a hostile
      // first batch may destroy the socket before HELLO_OK was flushed, as it should.
      if (b === 0 && !helloAnswered(conn.firstFrame)) report.record('unserved', 'a valid HELLO did not get HELLO_OK', index, open.bytes);
    }
    if (!ended) {
      if (rng.chance(0.2)) conn.socket.resetAndDestroy();
      else conn.socket.end();
    }
    if (!(await conn.whenClosed(CLOSE_DEADLINE_MS))) {
      report.record('stuck', `server kept a connection open ${CLOSE_DEADLINE_MS} ms after the client ended it`, index);
      conn.socket.destroy();
    }
    if (conn.responses < cleanRequests) report.record('unanswered', `${cleanRequests} requests in clean batches, ${conn.responses} answered`, index);
  } finally {
    // Errors on the server side of this socket arrive before or with its close.
    setImmediate(() => watch.cases.delete(localPort));
  }
}

async function canaryRequest(session: WireSession, index: number): Promise<boolean> {
  try {
    return sameValue(await session.request({ canary: index }), { canary: index });
  } catch {
    return false;
  }
}

export const wireServerTarget: FuzzTarget = {
  name: 'wire-server',
  summary: `a real createWireServer on 127.0.0.1 fed raw frames by ${CLIENTS} concurrent fuzz clients, a good client checked after each case`,
  async run(context: TargetContext) {
    const { report } = context;
    const dropped = (d: WireClientDropped): void => {
      report.note(`drop ${d.reason}`);
      if (d.error !== undefined && !isCoded(d.error)) report.record('uncoded', `onClientDropped(${d.reason}) with ${describeError(d.error)}`);
    };
    const tcpBaseline = tcpHandles();
    const server = createWireServer({ token: TOKEN, handler: hostileHandler, onMessage: () => {}, onClientDropped: dropped });
    const { port } = (await server.listen()) as { port: number };
    const watch: ServerWatch = { cases: new Map() };
    const onServerSocket = (message: unknown): void => {
      const socket = (message as { socket: Socket }).socket;
      if (socket.localPort !== port) return;
      const caseIndex = watch.cases.get(socket.remotePort ?? -1);
      socket.on('error', (err: Error) => {
        if (isCoded(err)) report.note(`socket error ${(err as { code?: string }).code}`);
        else if (isPeerSocketError(err)) report.note('socket error from the peer');
        else report.record('uncoded', `a server socket died with ${describeError(err)}`, caseIndex);
      });
    };
    subscribe('net.server.socket', onServerSocket);
    const dial = async (): Promise<WireSession> =>
      wire({ token: TOKEN }).open(await tcp().dial({ host: '127.0.0.1', port }, { connectTimeoutMs: 2000 }), {
        signal: new AbortController().signal,
        endpoint: { host: '127.0.0.1', port },
        markAlive: () => {},
        scheduler: asyncScheduler,
      });
    let canary = await dial();
    let nextCase = context.onlyCase ?? 0;
    let nextLog = Math.max(1, Math.floor(context.inputs / 10));
    const worker = async (): Promise<void> => {
      while (context.onlyCase === undefined ? report.inputs < context.inputs : nextCase === context.onlyCase) {
        const index = nextCase++;
        context.monitor.currentCase = index;
        report.cases++;
        await runConnection(index, port, context, watch);
        if (!(await canaryRequest(canary, index))) {
          canary.destroy();
          try {
            canary = await dial();
          } catch (err) {
            report.record('unserved', `the good client could not reconnect: ${describeError(err)}`, index);
            return;
          }
          if (!(await canaryRequest(canary, index))) {
            report.record('unserved', 'the good client was not answered after this case', index);
            return;
          }
          report.note('good client reconnected');
        }
        if (report.inputs >= nextLog) {
          context.log(`wire-server: ${report.inputs.toLocaleString('en-US')} inputs, ${report.findings} findings, ${server.connections} open`);
          nextLog += Math.max(1, Math.floor(context.inputs / 10));
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: context.onlyCase === undefined ? CLIENTS : 1 }, worker));
    } finally {
      canary.destroy();
      await settlesWithin(server.close({ graceful: false }), CLOSE_DEADLINE_MS, 'wire server close()', report);
      unsubscribe('net.server.socket', onServerSocket);
    }
    await checkClosed(port, 'wire server', tcpBaseline, context);
  },
};

