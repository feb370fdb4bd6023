/**
 * What "closed" means for a server the fuzzer ran: its port refuses connections and the
 * process holds no more TCP handles than before it started.
 */
import { connect } from 'node:net';
import type { TargetContext } from './target.js';

/** TCP sockets and listeners this process holds. */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}

/** After close(): the port refuses connections and no TCP handle is left beyond `baseline` (bounded wait). */
export async function checkClosed(port: number, what: string, baseline: number, context: TargetContext): Promise<void> {
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
  if (!refused) context.report.record('leak', `${what}: port ${port} still accepts connections after close()`);
  const deadline = Date.now() + 2000;
  while (tcpHandles() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  if (tcpHandles() > baseline) context.report.record('leak', `${what}: ${tcpHandles() - baseline} TCP handles left 2 s after close()`);
}
