/**
 * `unix()`: dials a unix domain socket at `endpoint.path`. A missing path (`ENOENT`) or a
 * path nobody listens on (`ECONNREFUSED`) is `WW_DIAL_REFUSED`, like a closed TCP port.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidOptionError } from '../errors.js';
import { parseOptions, shape } from '../options.js';
import { dialSocket } from './dial-socket.js';
import type { DialOptions, Endpoint, Transport } from './types.js';

/** No options yet; the object form keeps room for them (unknown keys are rejected). */
export type UnixOptions = Record<string, never>;

/**
 * A unix domain socket transport.
 *
 * @example
 * const socket = await unix().dial({ path: '/run/app.sock' }, { connectTimeoutMs: 1000 });
 */
export function unix(options?: UnixOptions): Transport {
  parseOptions('unix', shape({}), options);
  return Object.freeze({
    kind: 'unix',
    dial(endpoint: Endpoint, dialOptions: DialOptions): Promise<Duplex> {
      const path = endpoint?.path;
      if (typeof path !== 'string' || path.length === 0) {
        return Promise.reject(new InvalidOptionError(`endpoint.path must be a non-empty string, got ${typeof path}`));
      }
      return dialSocket({ kind: 'unix', where: path, readyEvent: 'connect', create: () => connect({ path }) }, dialOptions);
    },
  });
}
