/**
 * Requests Node's HTTP parser refuses before any route sees them (a 100 KB URL, a header
 * block past the head limit, bytes that are not HTTP) answered with a Toxiproxy-style
 * JSON status instead of a connection reset, so a client learns what it did wrong:
 *
 *   request line past the head limit   414  URI too long
 *   header block past the head limit   431  request header fields too large
 *   head or body not sent in time      408
 *   anything else the parser refuses   400
 *
 * Trade-offs:
 * - The parser reports one overflow for the whole head (request line and headers share
 *   `maxHeaderSize`). It is a 414 when the bytes it stopped in are still the request line:
 *   the chunk starts with a method and a space and holds no line end before the stop. A
 *   request line dripped in many small chunks cannot be told from a long header, and gets 431.
 * - The answer ends the connection, but the socket keeps being read until the client
 *   closes (bounded by `LINGER_MS`): closing a socket with unread bytes sends a TCP RST,
 *   which can destroy the answer before the client reads it — the reset this module exists
 *   to avoid. Node calls `clientError` again for every later chunk; the first answers.
 * - A keep-alive connection may already have served responses, so "has the socket written
 *   anything" cannot tell whether an answer would land inside a response. Responses are
 *   counted per socket from `request` to `finish`/`close`: with none in flight the answer
 *   is a whole new response; with one in flight (pipelining) the answer waits for it to
 *   finish, as HTTP/1.1 answers in request order. A request whose body the parser failed
 *   in is not waited for (its body never completes); if its response has begun, the
 *   socket is destroyed, as Node does by default.
 */
import type { Duplex } from 'node:stream';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** How long a refused client may keep sending before its socket is destroyed. */
export const LINGER_MS = 2000;

const answered = new WeakSet<Duplex>();

/** A connection's responses begun and not yet finished, and the answer waiting for them. */
interface Connection {
  inFlight: number;
  last?: { readonly req: IncomingMessage; readonly res: ServerResponse; readonly done: () => void };
  answer?: () => void;
}

const connections = new WeakMap<Duplex, Connection>();

function trackResponse(req: IncomingMessage, res: ServerResponse): void {
  if (res.writableFinished) return;
  const socket = req.socket;
  let conn = connections.get(socket);
  if (conn === undefined) connections.set(socket, (conn = { inFlight: 0 }));
  const c = conn;
  c.inFlight += 1;
  let settled = false;
  const done = () => {
    if (settled) return;
    settled = true;
    c.inFlight -= 1;
    if (c.inFlight > 0 || c.answer === undefined) return;
    const answer = c.answer;
    c.answer = undefined;
    answer();
  };
  c.last = { req, res, done };
  res.once('finish', done);
  res.once('close', done);
}

interface ParserError extends Error {
  readonly code?: string;
  readonly rawPacket?: unknown;
  readonly bytesParsed?: number;
}

/** True when the parser stopped inside a request line: `METHOD SP …` with no line end yet. */
function inRequestLine(err: ParserError): boolean {
  const raw = err.rawPacket;
  if (!Buffer.isBuffer(raw)) return false;
  const stop = Math.min(raw.length, err.bytesParsed ?? raw.length);
  const lineEnd = raw.indexOf(0x0a);
  return (lineEnd === -1 || lineEnd >= stop) && /^[A-Z]{3,10} \S/.test(raw.toString('latin1', 0, Math.min(stop, 16)));
}

/** The status and Toxiproxy-style message for a parser error; undefined for a dead socket. */
export function clientErrorStatus(err: ParserError, maxHeadBytes: number): { status: number; message: string } | undefined {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return inRequestLine(err)
        ? { status: 414, message: `request URI too long: the request line and headers are limited to ${maxHeadBytes} bytes` }
        : { status: 431, message: `request header fields too large: the request line and headers are limited to ${maxHeadBytes} bytes` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'request timeout' };
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    default:
      return { status: 400, message: `bad request: ${err.code ?? 'malformed HTTP'}` };
  }
}

/**
 * Installs the listeners that answer parser-refused requests on `server`: call before it
 * serves its first request (responses are tracked from their `request` event).
 *
 * @example
 * answerClientErrors(server, 16_384);
 */
export function answerClientErrors(server: Server, maxHeadBytes: number): void {
  server.on('request', trackResponse);
  server.on('clientError', (err, socket) => answerClientError(err, socket, maxHeadBytes));
}

/** The `clientError` listener: answers once, after any response in flight, then ends the connection. */
export function answerClientError(err: Error, socket: Duplex, maxHeadBytes: number): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  const answer = clientErrorStatus(err as ParserError, maxHeadBytes);
  if (answer === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  const conn = connections.get(socket);
  const last = conn?.last;
  if (last !== undefined && !last.req.complete) {
    // The parser failed inside this request's body: its handler waits for bytes that will
    // never be parsed, so its response is not waited for. If it has begun, an answer would
    // land inside it.
    if (last.res.headersSent && !last.res.writableFinished) {
      socket.destroy();
      return;
    }
    last.done();
  }
  if (conn !== undefined && conn.inFlight > 0) conn.answer = () => writeAnswer(socket, answer);
  else writeAnswer(socket, answer);
}

function writeAnswer(socket: Duplex, answer: { status: number; message: string }): void {
  // The connection may have died while a response was finishing: nothing to say then.
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${JSON.stringify({ error: answer.message, status: answer.status })}\n`;
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}
