/**
 * A Transport whose `dial` resolves (after `delayMs` of virtual time) with one end of a
 * duplex pair, rejects with `error`, or hangs until aborted. Every dial is recorded with
 * both ends and its signal, so tests can play the peer and check cleanup.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import { AbortedError } from '../../../src/errors.js';
import type { DialOptions, Endpoint, Transport } from '../../../src/transport/types.js';
import { duplexPair } from './duplex-pair.js';

export interface FakeDial {
  readonly endpoint: Endpoint;
  readonly options: DialOptions;
  /** The end handed to the connection. */
  client?: Duplex;
  /** The end the test plays the peer with. */
  server?: Duplex;
  aborted: boolean;
}

export interface FakeTransportOptions {
  readonly scheduler: SchedulerLike;
  /** Virtual ms before the dial resolves. Default 0. */
  readonly delayMs?: number;
  /** Reject every dial with this error. */
  readonly error?: Error;
  /** Never resolve (only an abort ends the dial). */
  readonly hang?: boolean;
  /** Never resolve and ignore the abort signal (a badly written transport). */
  readonly deaf?: boolean;
}

export class FakeTransport implements Transport {
  readonly kind = 'fake';
  readonly dials: FakeDial[] = [];
  constructor(private readonly opts: FakeTransportOptions) {}

  dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex> {
    const record: FakeDial = { endpoint, options, aborted: false };
    this.dials.push(record);
    return new Promise<Duplex>((resolve, reject) => {
      const { signal } = options;
      if (this.opts.deaf) return;
      const timer = this.opts.hang ? undefined : this.opts.scheduler.schedule(() => {
        signal?.removeEventListener('abort', onAbort);
        if (this.opts.error) {
          reject(this.opts.error);
          return;
        }
        const [client, server] = duplexPair();
        record.client = client;
        record.server = server;
        resolve(client);
      }, this.opts.delayMs ?? 0);
      const onAbort = (): void => {
        record.aborted = true;
        timer?.unsubscribe();
        reject(new AbortedError('fake dial aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The last dial (most tests dial once). */
  get last(): FakeDial {
    const d = this.dials.at(-1);
    if (!d) throw new Error('no dial yet');
    return d;
  }
}
