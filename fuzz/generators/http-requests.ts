/**
 * Requests for the Toxiproxy-compatible API: well-formed HTTP/1.1 carrying random
 * methods, paths and JSON bodies shaped like the API's own (proxies, toxics, populate
 * lists) with values of the wrong type, out of range, missing, nested or huge — and raw
 * request bytes mutated until they are no longer HTTP.
 *
 * Addresses stay on loopback: `listen` values come from a fixed list (ephemeral ports,
 * a few fixed ones, malformed ones), never a wildcard address, so a fuzz run opens no
 * listener beyond 127.0.0.1/::1. Proxy names come from a small set, so the registry holds
 * at most a handful of proxies however long the run.
 */
import { mutate } from '../mutators.js';
import type { Rng } from '../random.js';

export const PROXY_NAMES = ['redis', 'pg', 'a', 'b b', 'ü', 'x'.repeat(300)];
const TOXIC_NAMES = ['latency_downstream', 'latency_upstream', 't1', 'ü', ''];
const TOXIC_TYPES = [
  'latency', 'bandwidth', 'slow_close', 'timeout', 'reset_peer', 'slicer', 'limit_data', 'stall',
  'wire_drop_pongs', 'wire_fail_requests', 'wire_delay_responses', 'nope', '', 'LATENCY',
];
const ATTRIBUTES = [
  'latency', 'jitter', 'rate', 'delay', 'timeout', 'average_size', 'size_variation', 'bytes', 'probability', 'stall_ms',
  'interval_ms', 'count', 'mode', 'message', 'max_frame_bytes', 'unknown', '__proto__', 'constructor',
];
const LISTEN = ['127.0.0.1:0', 'localhost:0', '[::1]:0', ':0', '', '127.0.0.1:1', '127.0.0.1:99999', '127.0.0.1:-1', 'nope', 'a:b:c', '127.0.0.1'];
const UPSTREAM = ['127.0.0.1:1', '127.0.0.1:6379', 'localhost:0', '', 'x', '[::1]:80', '127.0.0.1:65536'];

export interface GeneratedRequest {
  readonly method: string;
  readonly bytes: Buffer;
  /** False for requests an HTTP server may refuse by closing (malformed framing). */
  readonly wellFormed: boolean;
}

function anyJson(rng: Rng, depth = 2): unknown {
  switch (rng.int(0, depth > 0 ? 9 : 6)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1, 1.5, 1e308, -1e308, 2 ** 31, 2 ** 53, 0.000001, 1e21]);
    case 3:
      return rng.int(-10, 100_000);
    case 4:
    case 5:
      return rng.string(24);
    case 6:
      return rng.pick(['', '0', 'true', 'NaN', 'Infinity']);
    case 7:
      return Array.from({ length: rng.size(4) }, () => anyJson(rng, depth - 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.size(4) }, () => [rng.pick(ATTRIBUTES), anyJson(rng, depth - 1)]));
  }
}

/** A field value: usually of the right kind, sometimes anything. */
function value(rng: Rng, good: () => unknown): unknown {
  return rng.chance(0.85) ? good() : anyJson(rng);
}

function proxyBody(rng: Rng): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (rng.chance(0.95)) body.name = value(rng, () => rng.pick(PROXY_NAMES));
  if (rng.chance(0.9)) body.upstream = value(rng, () => rng.pick(UPSTREAM));
  if (rng.chance(0.8)) body.listen = value(rng, () => rng.pick(LISTEN));
  if (rng.chance(0.4)) body.enabled = value(rng, () => rng.chance(0.7));
  if (rng.chance(0.1)) body[rng.pick(ATTRIBUTES)] = anyJson(rng);
  return body;
}

function attributes(rng: Rng): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let n = rng.size(4); n > 0; n--) {
    out[rng.pick(ATTRIBUTES)] = value(rng, () => rng.pick([0, 1, 10, 100, 1000, -1, 0.5, 1.5, 2 ** 31, 1e12, rng.int(0, 5000)]));
  }
  return out;
}

function toxicBody(rng: Rng): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (rng.chance(0.9)) body.type = value(rng, () => rng.pick(TOXIC_TYPES));
  if (rng.chance(0.5)) body.name = value(rng, () => rng.pick(TOXIC_NAMES));
  if (rng.chance(0.6)) body.stream = value(rng, () => rng.pick(['upstream', 'downstream', 'UPSTREAM', 'sideways', '']));
  if (rng.chance(0.5)) body.toxicity = value(rng, () => rng.pick([0, 0.5, 1, -0.1, 1.1, 2]));
  if (rng.chance(0.8)) body.attributes = value(rng, () => attributes(rng));
  return body;
}

/** A JSON body (or not JSON) for a route. */
function body(rng: Rng, route: string): string | undefined {
  if (rng.chance(0.1)) return undefined;
  let json: unknown;
  switch (route) {
    case 'proxies':
    case 'proxy':
      json = proxyBody(rng);
      break;
    case 'populate':
      json = rng.chance(0.9) ? Array.from({ length: rng.size(5) }, () => proxyBody(rng)) : proxyBody(rng);
      break;
    case 'toxics':
    case 'toxic':
      json = toxicBody(rng);
      break;
    default:
      json = anyJson(rng);
  }
  switch (rng.weighted([20, 2, 0.3, 0.05, 1])) {
    case 0:
      return JSON.stringify(json);
    case 1:
      return mutate(rng, Buffer.from(JSON.stringify(json)), { dictionary: ['{', '}', '[', ']', '"', ',', ':', 'null', '\\u0000', '\\'].map((t) => Buffer.from(t)) }).toString('latin1');
    case 2: {
      // Deep nesting: V8's JSON.parse is iterative, a route's walk may not be.
      const depth = rng.pick([100, 10_000, 200_000]);
      return '['.repeat(depth) + ']'.repeat(depth);
    }
    case 3:
      return 'x'.repeat(rng.pick([1024 * 1024 + 1, 2 * 1024 * 1024])); // past maxBodyBytes
    default:
      return JSON.stringify({ ...(typeof json === 'object' && json !== null ? json : {}), pad: 'p'.repeat(rng.size(200_000)) });
  }
}

/** Percent-encodes what may not appear raw in a request target. */
function encodePath(raw: string): string {
  return raw.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%?]/gu, (c) => encodeURIComponent(c));
}

function path(rng: Rng): { path: string; route: string } {
  const name = rng.pick(PROXY_NAMES);
  const toxic = rng.pick(TOXIC_NAMES);
  const seg = (s: string) => encodeURIComponent(s);
  const choice = rng.weighted([1, 1, 2, 4, 4, 4, 4, 1, 0.5, 0.3]);
  let out: string;
  let route: string;
  switch (choice) {
    case 0: out = '/version'; route = 'version'; break;
    case 1: out = '/reset'; route = 'reset'; break;
    case 2: out = '/populate'; route = 'populate'; break;
    case 3: out = '/proxies'; route = 'proxies'; break;
    case 4: out = `/proxies/${seg(name)}`; route = 'proxy'; break;
    case 5: out = `/proxies/${seg(name)}/toxics`; route = 'toxics'; break;
    case 6: out = `/proxies/${seg(name)}/toxics/${seg(toxic)}`; route = 'toxic'; break;
    case 7:
      out = rng.pick(['/', '//proxies', '/proxies/', '/proxies//toxics', '/%', '/%zz', '/proxies/%E0%A4%A', '/proxies/%00', '/a/b/c/d/e', '*', '/..%2f..%2fetc']);
      route = 'other';
      break;
    case 8:
      out = `/proxies/${'n'.repeat(rng.pick([2000, 20_000, 100_000]))}`; // past the head limit: 414
      route = 'proxy';
      break;
    default:
      out = `/${encodePath(rng.string(40))}`;
      route = 'other';
  }
  if (rng.chance(0.05)) out += `?${encodePath(rng.string(20))}`;
  return { path: out, route };
}

function method(rng: Rng, route: string): string {
  const likely = route === 'version' || route === 'other' ? 'GET' : route === 'reset' || route === 'populate' ? 'POST' : rng.pick(['GET', 'POST', 'PATCH', 'DELETE']);
  // Any token is a method (RFC 9110); CONNECT is left to garbage: it needs an authority-form target.
  return rng.chance(0.85) ? likely : rng.pick(['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'TRACE', 'FOO', 'get']);
}

/**
 * One request, framed correctly (Content-Length matches the body).
 *
 * @example
 * const { bytes } = apiRequest(rng, port);  // e.g. "POST /proxies HTTP/1.1\r\n…{"name":"redis",…}"
 */
export function apiRequest(rng: Rng, port: number): GeneratedRequest {
  const target = path(rng);
  const m = method(rng, target.route);
  const payload = m === 'GET' || m === 'HEAD' || m === 'DELETE' ? (rng.chance(0.05) ? body(rng, target.route) : undefined) : body(rng, target.route);
  const headers = [`Host: 127.0.0.1:${port}`];
  if (rng.chance(0.05)) headers.push(`User-Agent: ${rng.pick(['Mozilla/5.0 (X11)', 'curl/8', 'toxiproxy-cli', ''])}`);
  if (payload !== undefined) headers.push(`Content-Type: ${rng.chance(0.9) ? 'application/json' : 'text/plain'}`, `Content-Length: ${Buffer.byteLength(payload, 'latin1')}`);
  if (rng.chance(0.02)) for (let n = rng.pick([10, 100, 2000]); n > 0; n--) headers.push(`X-Fuzz-${n}: ${'h'.repeat(rng.size(64))}`);
  if (rng.chance(0.05)) headers.push('Connection: close');
  const head = `${m} ${target.path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  return { method: m, bytes: Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(payload ?? '', 'latin1')]), wellFormed: true };
}

const HTTP_TOKENS = [
  '\r\n', '\r\n\r\n', ' ', 'HTTP/1.1', 'HTTP/2.0', 'HTTP/1.0', 'Content-Length: ', 'Content-Length: 99999999999999999999\r\n',
  'Content-Length: -1\r\n', 'Content-Length: 1,2\r\n', 'Transfer-Encoding: chunked\r\n', '0\r\n\r\n', 'ffffffff\r\n', ':', '\x00',
  'GET ', 'POST /proxies ', 'Expect: 100-continue\r\n', 'Host: \r\n', '\n', '%', '\t',
].map((t) => Buffer.from(t, 'latin1'));

/** Bytes that started as a request and were mutated, or were never one. */
export function garbageRequest(rng: Rng, port: number): GeneratedRequest {
  const base = apiRequest(rng, port);
  switch (rng.weighted([17, 2, 1])) {
    case 0:
      return { method: base.method, bytes: mutate(rng, base.bytes, { dictionary: HTTP_TOKENS, maxMutations: 6 }), wellFormed: false };
    case 1:
      return { method: 'random', bytes: rng.bytes(rng.size(2048) + 1), wellFormed: false };
    default:
      // A tunnel request to an API that tunnels nothing (Node closes it unanswered).
      return { method: 'CONNECT', bytes: Buffer.from(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`), wellFormed: false };
  }
}
