/**
 * `tls()`: TCP + TLS. Certificate verification is ON by default (`rejectUnauthorized:
 * true`) and TLS 1.2 is the floor; turning verification off has to be written out.
 *
 * The connect timeout covers the TCP connect and the handshake together: a server that
 * accepts TCP and never answers the ClientHello is a `WW_DIAL_TIMEOUT`, a failed
 * verification or handshake a `WW_TLS` with the original error as `cause`.
 *
 * Key material and the passphrase stay in this factory's closure; the returned transport
 * exposes only `kind` and `dial`.
 */
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import { boolean, custom, oneOf, optional, parseOptions, secret, shape, string } from '../options.js';
import { checkHostPort, describeEndpoint, dialSocket } from './dial-socket.js';
import { socketOptionsSchema, type TcpOptions } from './tcp.js';
import type { DialOptions, Endpoint, Transport } from './types.js';

/** PEM text or DER bytes, one or several (as `node:tls` takes them). */
export type Pem = string | Buffer | Array<string | Buffer>;

const isPemPart = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v);
const pemChecker = custom<Pem>('a string, a Buffer or an array of them', (v) => isPemPart(v) || (Array.isArray(v) && v.every(isPemPart)));
const pem = optional(pemChecker);

const tlsSchema = shape({
  ...socketOptionsSchema,
  ca: pem,
  cert: pem,
  // Secrets: a failure names the type of the value, never the value.
  key: optional(secret(pemChecker)),
  passphrase: optional(secret(string())),
  servername: optional(string({ nonEmpty: true })),
  rejectUnauthorized: boolean({ default: true }),
  minVersion: oneOf(['TLSv1.2', 'TLSv1.3'] as const, { default: 'TLSv1.2' }),
});

export interface TlsOptions extends TcpOptions {
  /** Trusted CA certificates (PEM). Default: Node's bundled roots. */
  readonly ca?: Pem;
  /** Client certificate chain (PEM), for mutual TLS. */
  readonly cert?: Pem;
  /** Client private key (PEM). Never printed. */
  readonly key?: Pem;
  /** Passphrase of `key`. Never printed. */
  readonly passphrase?: string;
  /** SNI and certificate name. Default: `endpoint.servername`, else the host if it is a name. */
  readonly servername?: string;
  /** Verify the server certificate. Default true. */
  readonly rejectUnauthorized?: boolean;
  /** Lowest accepted protocol version. Default 'TLSv1.2'. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/**
 * A TLS transport.
 *
 * @example
 * const transport = tls({ ca: readFileSync('ca.pem') });
 * const socket = await transport.dial({ host: 'db.internal', port: 6380 }, { connectTimeoutMs: 2000 });
 */
export function tls(options?: TlsOptions): Transport {
  const { noDelay, keepAlive, keepAliveInitialDelayMs, servername, ...secure } = parseOptions('tls', tlsSchema, options);
  return Object.freeze({
    kind: 'tls',
    dial(endpoint: Endpoint, dialOptions: DialOptions): Promise<Duplex> {
      let target: { host: string; port: number };
      try {
        target = checkHostPort(endpoint);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      const sni = endpoint.servername ?? servername ?? (isIP(target.host) === 0 ? target.host : undefined);
      return dialSocket(
        {
          kind: 'tls',
          where: describeEndpoint(endpoint),
          readyEvent: 'secureConnect',
          create: () => {
            const socket = connect({ ...target, ...secure, ...(sni === undefined ? {} : { servername: sni }) });
            socket.setNoDelay(noDelay);
            if (keepAlive) socket.setKeepAlive(true, keepAliveInitialDelayMs);
            return socket;
          },
        },
        dialOptions,
      );
    },
  });
}
