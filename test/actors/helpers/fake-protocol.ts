/**
 * A Protocol whose behaviour the test controls, all in virtual time:
 * - handshake: succeed after `handshakeMs`, `fail`, or `hang` (until the signal aborts);
 * - probe: answer after `replyMs`, `hang`, or `fail` at once — settable per probe via
 *   `probeBehaviour`, a queue consulted before the default;
 * - close: resolve after `closeMs` or `hang`.
 * It records probes (with their signals) and close calls, and keeps the session's
 * `markAlive`; every chunk the peer writes marks the connection alive, as a real
 * protocol's reader would. The `secret` field stands for a
 * credential held by the protocol object; it must never show up in snapshots.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import { HandshakeFailedError } from '../../../src/errors.js';
import type { Protocol, ProtocolContext } from '../../../src/transport/types.js';

export type ProbeBehaviour = { replyMs: number } | 'hang' | 'fail';

export interface FakeSession {
  readonly stream: Duplex;
  readonly ctx: ProtocolContext;
  markAlive(): void;
}

export interface FakeProtocolOptions {
  readonly scheduler: SchedulerLike;
  /** `deaf`: hangs and ignores its abort signal (a badly written protocol). */
  readonly handshake?: { ms: number } | 'fail' | 'hang' | 'deaf';
  readonly probe?: ProbeBehaviour;
  readonly close?: { ms: number } | 'hang';
}

export interface ProbeRecord {
  readonly at: number;
  readonly signal: AbortSignal;
  settled: 'ok' | 'failed' | 'aborted' | 'pending';
}

export class FakeProtocol implements Protocol<FakeSession> {
  readonly name = 'fake';
  readonly secret = 'hunter2-do-not-leak';
  readonly probes: ProbeRecord[] = [];
  readonly probeBehaviour: ProbeBehaviour[] = [];
  defaultProbe: ProbeBehaviour;
  closeCalls = 0;
  session: FakeSession | undefined;
  openSignal: AbortSignal | undefined;

  constructor(private readonly opts: FakeProtocolOptions) {
    this.defaultProbe = opts.probe ?? { replyMs: 1 };
  }

  open(stream: Duplex, ctx: ProtocolContext): Promise<FakeSession> {
    this.openSignal = ctx.signal;
    // Like a real protocol: read everything, and count each inbound chunk as liveness.
    stream.on('data', () => ctx.markAlive());
    const hs = this.opts.handshake ?? { ms: 0 };
    return new Promise<FakeSession>((resolve, reject) => {
      if (hs === 'fail') {
        reject(new Error(`bad hello (secret ${this.secret.length} chars)`));
        return;
      }
      if (hs === 'deaf') return;
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      if (hs === 'hang') return;
      this.opts.scheduler.schedule(() => {
        this.session = { stream, ctx, markAlive: ctx.markAlive };
        resolve(this.session);
      }, hs.ms);
    });
  }

  probe(_session: FakeSession, signal: AbortSignal): Promise<void> {
    const record: ProbeRecord = { at: this.opts.scheduler.now(), signal, settled: 'pending' };
    this.probes.push(record);
    const behaviour = this.probeBehaviour.shift() ?? this.defaultProbe;
    return new Promise<void>((resolve, reject) => {
      if (behaviour === 'fail') {
        record.settled = 'failed';
        reject(new Error('probe failed'));
        return;
      }
      const timer = behaviour === 'hang' ? undefined : this.opts.scheduler.schedule(() => {
        record.settled = 'ok';
        resolve();
      }, behaviour.replyMs);
      signal.addEventListener('abort', () => {
        timer?.unsubscribe();
        if (record.settled === 'pending') record.settled = 'aborted';
        reject(signal.reason);
      }, { once: true });
    });
  }

  close(session: FakeSession): Promise<void> {
    this.closeCalls++;
    const c = this.opts.close ?? { ms: 0 };
    return new Promise<void>((resolve) => {
      if (c === 'hang') return;
      this.opts.scheduler.schedule(() => {
        session.stream.end();
        resolve();
      }, c.ms);
    });
  }
}

/** A handshake error typed like a real protocol's. */
export const handshakeRejected = (): HandshakeFailedError => new HandshakeFailedError('rejected by peer');
