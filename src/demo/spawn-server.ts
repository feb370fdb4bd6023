/**
 * Starts `server-process.ts` as a child process and controls it: `freeze()` (SIGSTOP: the
 * process stops answering but its sockets stay open, exactly a hung peer), `thaw()`
 * (SIGCONT), `kill()` (SIGKILL: the kernel resets every connection) and `stop()`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServerProcess {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly frozen: boolean;
  freeze(): void;
  thaw(): void;
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Graceful stop; resolves when the process is gone. */
  stop(): Promise<void>;
  connections(): Promise<number>;
}

export interface SpawnServerOptions {
  host?: string;
  /** 0 picks a free port; pass the previous port to restart "the same" server. */
  port?: number;
  token?: string;
  /** Give up waiting for the child to listen after this long. Default 10000. */
  startTimeoutMs?: number;
}

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

export async function spawnServerProcess(options: SpawnServerOptions = {}): Promise<ServerProcess> {
  const script = fileURLToPath(new URL(`./server-process${ext}`, import.meta.url));
  const child: ChildProcess = fork(script, [], {
    execArgv: ext === '.ts' ? ['--import', 'tsx'] : [],
    env: {
      ...process.env,
      WW_SERVER_HOST: options.host ?? '127.0.0.1',
      WW_SERVER_PORT: String(options.port ?? 0),
      WW_SERVER_TOKEN: options.token ?? '',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server process did not listen within ${options.startTimeoutMs ?? 10_000} ms`));
    }, options.startTimeoutMs ?? 10_000);
    child.on('message', function onMessage(msg: { type?: string; address?: { host: string; port: number }; message?: string }) {
      if (msg.type === 'listening' && msg.address) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(msg.address);
      } else if (msg.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`server process failed: ${msg.message}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server process exited (${code}) before listening`));
    });
  });
  let frozen = false;
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    pid: child.pid!,
    host: address.host,
    port: address.port,
    get frozen() {
      return frozen;
    },
    freeze() {
      if (!gone && !frozen) {
        child.kill('SIGSTOP');
        frozen = true;
      }
    },
    thaw() {
      if (!gone && frozen) {
        child.kill('SIGCONT');
        frozen = false;
      }
    },
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!gone) {
        if (frozen) child.kill('SIGCONT');
        child.send({ type: 'stop' });
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      await exited;
    },
    connections() {
      return new Promise((resolve, reject) => {
        if (gone) return reject(new Error('server process is gone'));
        child.on('message', function onStats(msg: { type?: string; connections?: number }) {
          if (msg.type === 'stats') {
            child.off('message', onStats);
            resolve(msg.connections ?? 0);
          }
        });
        child.send({ type: 'stats' });
      });
    },
  };
}
