/**
 * Starts and controls a storm server process (see storm-server.ts): `listening` resolves
 * with the instant it listened, on this process's `performance.now()` clock (both clocks
 * read the same system time, to the millisecond); `kill()` is SIGKILL, so the kernel — not
 * our code — ends every connection.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface StormServer {
  readonly pid: number;
  /** Rejects if the process failed to listen or exited first. */
  readonly listening: Promise<number>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Closes the server (no grace) and waits for the process to exit. */
  stop(): Promise<void>;
  /** User + system CPU time of the process so far, in ms (Linux /proc; NaN elsewhere). */
  cpuMs(): number;
}

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Forks a server that listens on `port` at `listenAt` (this process's `performance.now()` time). */
export function forkStormServer(port: number, listenAt: number): StormServer {
  const child = fork(fileURLToPath(new URL(`./storm-server${ext}`, import.meta.url)), [], {
    execArgv: ext === '.ts' ? ['--import', 'tsx'] : [],
    env: { ...process.env, WW_STORM_PORT: String(port), WW_STORM_LISTEN_AT: String(performance.timeOrigin + listenAt) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const listening = new Promise<number>((resolve, reject) => {
    child.on('message', (msg: { type?: string; at?: number; message?: string }) => {
      if (msg.type === 'listening') resolve(msg.at! - performance.timeOrigin);
      else if (msg.type === 'error') reject(new Error(`storm server on port ${port} failed: ${msg.message}`));
    });
    void exited.then(() => reject(new Error(`storm server on port ${port} exited before listening`)));
  });
  listening.catch(() => {});
  return {
    pid: child.pid!,
    listening,
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      try {
        if (!gone) child.send({ type: 'stop' });
      } catch {
        child.kill('SIGKILL'); // the IPC channel closed: it is exiting anyway
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
    cpuMs() {
      try {
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 Hz on Linux).
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        return Number.NaN;
      }
    },
  };
}
