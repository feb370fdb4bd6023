/**
 * What the dashboard and the inspector relay share as loopback HTTP servers: the bind
 * (127.0.0.1 unless the caller names another host; a port taken is a
 * `WW_LISTEN_FAILED`), the `Host` check against DNS rebinding (a page on
 * `evil.example` resolving to 127.0.0.1 must not read the tree), the same check for a
 * browser's `Origin`, and a close that leaves no socket behind.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenFailedError } from '../errors.js';

export const LOOPBACK_HOST = '127.0.0.1';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** Listens on `host:port`; resolves with the bound port. */
export function listenHttp(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(new ListenFailedError(`${what} could not listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** `http://127.0.0.1:8475/` (IPv6 literals in brackets; a wildcard bind is shown as loopback). */
export function httpUrl(host: string, port: number, scheme = 'http'): string {
  const shown = WILDCARD_HOSTS.has(host) ? LOOPBACK_HOST : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${scheme}://${shown}:${port}/`;
}

/**
 * Whether a request's `Host` (and `Origin`, when a browser sent one) names this server:
 * a loopback name, or the host the server was bound to. Any port is accepted, so an SSH
 * `-L 9000:127.0.0.1:8475` forward works; a server bound to all interfaces (the user
 * named `0.0.0.0`) accepts any name. Whatever the bind, a request a browser marks as
 * coming from another site (`Sec-Fetch-Site: cross-site` or `same-site`: a page elsewhere,
 * or on a sibling subdomain, that loads or fetches it) is refused: only the page itself
 * (`same-origin`) or the address bar (`none`) may read the tree.
 */
export function isAllowedRequest(req: IncomingMessage, boundHost: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  if (WILDCARD_HOSTS.has(boundHost)) return true;
  const host = hostnameOf(req.headers.host);
  if (host === undefined || !isAllowedName(host, boundHost)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return isAllowedName(new URL(origin).hostname, boundHost);
  } catch {
    return false;
  }
}

function isAllowedName(name: string, boundHost: string): boolean {
  const lower = name.toLowerCase();
  return LOOPBACK_NAMES.has(lower) || lower === boundHost.toLowerCase() || lower === `[${boundHost.toLowerCase()}]`;
}

/** `example:8475` → `example`, `[::1]:8475` → `[::1]`. */
function hostnameOf(header: string | undefined): string | undefined {
  if (header === undefined || header.length === 0) return undefined;
  if (header.startsWith('[')) {
    const end = header.indexOf(']');
    return end < 0 ? undefined : header.slice(0, end + 1);
  }
  const colon = header.indexOf(':');
  return colon < 0 ? header : header.slice(0, colon);
}

/** Stops listening, ends every open connection (SSE streams included) and resolves once the server is closed. */
export function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
