/**
 * A tiny line protocol standing in for "your own system" in scenario tests: a server
 * that answers `REQ <id>` with `OK <id>` and `PING` with `PONG`, and a client session
 * for `custom()`. Timeouts run on the scheduler the connection gives it, so a simulated
 * run stays in virtual time.
 */
import { addAbortListener } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import { custom, type Protocol } from '../../src/index.js';
import type { ScenarioServerEnv, ScenarioTargetServer } from '../../src/chaos/index.js';

function onLines(stream: Duplex, handle: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      handle(line);
    }
  });
  stream.on('error', () => {});
}

/** The server side: every `REQ <id>` is reported executed before it is answered. */
export function lineServer(env: ScenarioServerEnv): ScenarioTargetServer & { readonly served: number[] } {
  const streams = new Set<Duplex>();
  const served: number[] = [];
  return {
    served,
    accept(stream) {
      streams.add(stream);
      stream.once('close', () => streams.delete(stream));
      onLines(stream, (line) => {
        if (line === 'PING') stream.write('PONG\n');
        else if (line.startsWith('REQ ')) {
          const id = Number(line.slice(4));
          env.executed(id);
          served.push(id);
          stream.write(`OK ${id}\n`);
        }
      });
    },
    close() {
      for (const s of streams) s.destroy();
    },
  };
}

export interface LineSession {
  request(id: number, signal: AbortSignal): Promise<number>;
  ping(signal: AbortSignal): Promise<void>;
  readonly stream: Duplex;
}

/** The client side, for `target.protocol`; a request not answered within `timeoutMs` fails. */
export function lineProtocol(timeoutMs = 1000): Protocol<LineSession> {
  return custom<LineSession>({
    open: (stream, ctx) => {
      const scheduler: SchedulerLike = ctx.scheduler;
      const calls = new Map<number, { resolve: (id: number) => void; reject: (err: Error) => void; timer: Subscription }>();
      const pings: (() => void)[] = [];
      const fail = (err: Error) => {
        for (const call of calls.values()) {
          call.timer.unsubscribe();
          call.reject(err);
        }
        calls.clear();
      };
      onLines(stream, (line) => {
        if (line === 'PONG') pings.shift()?.();
        else if (line.startsWith('OK ')) {
          const id = Number(line.slice(3));
          const call = calls.get(id);
          calls.delete(id);
          call?.timer.unsubscribe();
          call?.resolve(id);
        }
        ctx.markAlive();
      });
      stream.once('close', () => fail(Object.assign(new Error('connection closed'), { code: 'LINE_CLOSED' })));
      const session: LineSession = {
        stream,
        // pool.use hands a shared never-aborting signal when the caller gave none: every
        // listener is removed once its call settles.
        request: (id, signal) => new Promise<number>((resolve, reject) => {
          const timer = scheduler.schedule(() => {
            calls.delete(id);
            onAbort[Symbol.dispose]();
            reject(Object.assign(new Error(`REQ ${id} timed out`), { code: 'LINE_TIMEOUT' }));
          }, timeoutMs);
          const onAbort = addAbortListener(signal, () => {
            if (calls.delete(id)) {
              timer.unsubscribe();
              reject(new Error('aborted'));
            }
          });
          calls.set(id, {
            resolve: (v) => { onAbort[Symbol.dispose](); resolve(v); },
            reject: (e) => { onAbort[Symbol.dispose](); reject(e); },
            timer,
          });
          stream.write(`REQ ${id}\n`);
        }),
        ping: (signal) => new Promise<void>((resolve, reject) => {
          const done = () => {
            onAbort[Symbol.dispose]();
            resolve();
          };
          const onAbort = addAbortListener(signal, () => {
            const i = pings.indexOf(done);
            if (i >= 0) pings.splice(i, 1);
            reject(new Error('probe aborted'));
          });
          pings.push(done);
          stream.write('PING\n');
        }),
      };
      return Promise.resolve(session);
    },
    probe: (session, signal) => session.ping(signal),
    close: (session) => {
      session.stream.end();
      return Promise.resolve();
    },
  });
}
