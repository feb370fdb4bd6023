/**
 * `tcp()`: the plain TCP dialer. Nagle is off by default (`noDelay: true`): the wire
 * protocol writes small request frames and corks bursts itself, so Nagle would only add
 * latency. TCP keep-alive is opt-in; application heartbeats are the real liveness check.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { boolean, duration, parseOptions, shape } from '../options.js';
import { checkHostPort, describeEndpoint, dialSocket } from './dial-socket.js';
import type { DialOptions, Endpoint, Transport } from './types.js';

export const socketOptionsSchema = {
  noDelay: boolean({ default: true }),
  keepAlive: boolean({ default: false }),
  keepAliveInitialDelayMs: duration({ min: 0, default: 0 }),
};

export interface TcpOptions {
  /** Disable Nagle's algorithm. Default true. */
  readonly noDelay?: boolean;
  /** Enable TCP keep-alive probes. Default false. */
  readonly keepAlive?: boolean;
  /** Idle time before the first keep-alive probe (0 = OS default). Default 0. */
  readonly keepAliveInitialDelayMs?: number;
}

/**
 * A TCP transport. Endpoints without `host` dial 127.0.0.1.
 *
 * @example
 * const socket = await tcp().dial({ host: '127.0.0.1', port: 6379 }, { connectTimeoutMs: 1000, signal });
 */
export function tcp(options?: TcpOptions): Transport {
  const opts = parseOptions('tcp', shape(socketOptionsSchema), options);
  return Object.freeze({
    kind: 'tcp',
    dial(endpoint: Endpoint, dialOptions: DialOptions): Promise<Duplex> {
      let target: { host: string; port: number };
      try {
        target = checkHostPort(endpoint);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return dialSocket(
        {
          kind: 'tcp',
          where: describeEndpoint(endpoint),
          readyEvent: 'connect',
          create: () =>
            connect({
              ...target,
              noDelay: opts.noDelay,
              keepAlive: opts.keepAlive,
              keepAliveInitialDelay: opts.keepAliveInitialDelayMs,
            }),
        },
        dialOptions,
      );
    },
  });
}
