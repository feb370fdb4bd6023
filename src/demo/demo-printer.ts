/**
 * The demo's output: one line per state change or restart, a status line per second with
 * each connection's state and RTT, and a summary. Colours only on a TTY.
 */
const tty = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: number) => (s: string) => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
const colours: Record<string, (s: string) => string> = {
  ready: paint(32),
  probing: paint(36),
  suspect: paint(33),
  dead: paint(31),
  dialing: paint(34),
  restarting: paint(35),
  closing: paint(90),
  closed: paint(90),
};
const bold = paint(1);

export interface StatusCell {
  id: string;
  state: string;
  rttMs: number | undefined;
}

export interface DemoPrinter {
  note(text: string): void;
  fault(text: string): void;
  transition(path: string, from: string, to: string, reason?: string): void;
  restart(path: string, attempt: number, delayMs: number, reason: string): void;
  status(cells: StatusCell[], extra?: string): void;
  summary(deaths: Record<string, number>, restarts: number, ready: number, total: number): void;
}

export function createDemoPrinter(write: (line: string) => void): DemoPrinter {
  const t0 = Date.now();
  const stamp = (): string => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
  const colour = (state: string): string => (colours[state] ?? ((s: string) => s))(state);
  const short = (path: string): string => path.replace(/^root\//, '');
  return {
    note: (text) => write(`${stamp()}  ${text}`),
    fault: (text) => write(`${stamp()}  ${bold(`*** ${text}`)}`),
    transition: (path, from, to, reason) =>
      write(`${stamp()}  ${short(path).padEnd(16)} ${colour(from)} → ${colour(to)}${reason ? ` (${reason})` : ''}`),
    restart: (path, attempt, delayMs, reason) =>
      write(`${stamp()}  ${short(path).padEnd(16)} restart #${attempt} in ${delayMs} ms after ${reason}`),
    status: (cells, extra) => {
      const parts = cells.map((c) => `${c.id}:${colour(c.state)}${c.rttMs === undefined ? '' : `/${c.rttMs.toFixed(2)}ms`}`);
      write(`${stamp()}  [${parts.join(' ')}]${extra ? `  ${extra}` : ''}`);
    },
    summary: (deaths, restarts, ready, total) => {
      const d = Object.entries(deaths).map(([r, n]) => `${r} ×${n}`).join(', ') || 'none';
      write(`${stamp()}  ${bold('summary')}: deaths: ${d}; restarts: ${restarts}; ready at the end: ${ready}/${total}`);
    },
  };
}
