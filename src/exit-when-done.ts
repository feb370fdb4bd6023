/**
 * A command that has finished ends its process, even when something it loaded left a
 * handle open. `wirewarden chaos run` imports the user's scenario files: one whose
 * server listens at module top level (a `target.endpoints` scenario testing a local
 * service, say) keeps the event loop alive after the report is printed, and the run —
 * a CI job — would hang forever.
 *
 *   command resolves ──▶ exitCode = status ──▶ loop empties ──▶ exits (no message)
 *                              │
 *                              └── still alive after graceMs ──▶ names what is open
 *                                                                 on stderr, exit(status)
 *
 * The grace timer is unref'd: it never keeps the process alive itself, so a clean run
 * exits as before, at once and silently. It is a plain `setTimeout`, not the runtime's
 * scheduler: it belongs to the process, after every runtime has shut down.
 */

/** How long a finished command waits for open handles to close on their own. */
export const EXIT_GRACE_MS = 1000;

/** Readable names for the resource types `process.getActiveResourcesInfo()` reports. */
const KINDS: Record<string, string> = {
  TCPServerWrap: 'a TCP server listening',
  TCPSocketWrap: 'a TCP socket',
  TCPWRAP: 'a TCP socket',
  PipeServerWrap: 'a unix socket server listening',
  PipeWrap: 'a pipe or unix socket',
  Timeout: 'a timer',
  Immediate: 'an immediate',
  UDPWrap: 'a UDP socket',
  ProcessWrap: 'a child process',
  FSReqCallback: 'a file operation',
  GetAddrInfoReqWrap: 'a DNS lookup',
};

/** `process.getActiveResourcesInfo()` as a phrase: `2 × a timer (Timeout), a TCP server listening (TCPServerWrap)`. */
export function describeOpenResources(types: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].map(([type, n]) => `${n > 1 ? `${n} × ` : ''}${KINDS[type] ?? 'a resource'} (${type})`).join(', ');
}

/**
 * The resources open before a command runs, to leave out of the warning: the process's
 * own stdout and stderr (pipes under a CI runner or `execFile`) count as open handles
 * but never keep it alive. Touching them here opens them, so they are in the list.
 */
export function resourcesOpenAtStart(): readonly string[] {
  void process.stdout;
  void process.stderr;
  return process.getActiveResourcesInfo();
}

/** `open` without one entry per entry of `baseline` (a multiset difference). */
function without(open: readonly string[], baseline: readonly string[]): string[] {
  const left = [...open];
  for (const type of baseline) {
    const i = left.indexOf(type);
    if (i >= 0) left.splice(i, 1);
  }
  return left;
}

/**
 * Sets the exit status now and makes sure the process ends: if anything still holds it
 * open after `graceMs`, `warn` is told what (beyond `baseline`) with the status, and the
 * process exits.
 *
 * @example
 * const baseline = resourcesOpenAtStart();
 * exitWhenDone(await runChaosCommand(argv), (text) => process.stderr.write(text), baseline);
 */
export function exitWhenDone(
  status: number, warn: (text: string) => void, baseline: readonly string[] = [], graceMs = EXIT_GRACE_MS,
): void {
  process.exitCode = status;
  const timer = setTimeout(() => {
    const open = without(process.getActiveResourcesInfo(), baseline);
    warn(
      `wirewarden: finished, but the process is still held open by ${open.length > 0 ? describeOpenResources(open) : 'something opened before the command started'} ` +
        `${graceMs} ms later — left by a file it loaded (a scenario whose server listens at module top level?). ` +
        `Exiting with status ${status}; close what the file opens, or unref() it.\n`,
    );
    process.exit(status);
  }, graceMs);
  timer.unref();
}
