/**
 * `host:port` strings as Toxiproxy writes them (`127.0.0.1:8474`, `localhost:0`,
 * `[::1]:6379`, `:6379`). An empty host means loopback here, not "all interfaces" as in
 * Go: wirewarden listens on 127.0.0.1 unless the user names another address.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { describeValue } from '../options.js';

export interface HostPort {
  /** Without brackets; `''` when the string had no host. */
  readonly host: string;
  readonly port: number;
}

export const LOOPBACK = '127.0.0.1';

/** Parses `host:port`; throws `InvalidOptionError` naming `path`. */
export function parseHostPort(value: unknown, path: string, options: { allowPortZero: boolean }): HostPort {
  const expected = `"host:port" with a port in [${options.allowPortZero ? 0 : 1}, 65535]`;
  const fail = (): never => {
    throw new InvalidOptionError(`${path} must be ${expected}, got ${describeValue(value)}`);
  };
  if (typeof value !== 'string') return fail();
  const colon = value.lastIndexOf(':');
  if (colon < 0) return fail();
  let host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return fail();
  if (!/^\d{1,5}$/.test(portText)) return fail();
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !options.allowPortZero)) return fail();
  if (/[\s/]/.test(host)) return fail();
  return { host, port };
}

/** `host:port`, with brackets around IPv6 literals. */
export function formatHostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The address to bind for a listen host: loopback when empty, names resolved once. */
export async function resolveListenHost(host: string): Promise<string> {
  if (host === '') return LOOPBACK;
  if (isIP(host) !== 0) return host;
  return (await lookup(host)).address;
}
