/**
 * What a test reads to check that nothing leaks: process warnings emitted while it runs,
 * and every printable surface of an error (message, cause, stack, JSON, inspect).
 */
import { inspect } from 'node:util';

/** Process warnings emitted until `stop()` (they are emitted on the next tick). */
export function captureWarnings(): { readonly warnings: Error[]; stop(): Promise<void> } {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  return {
    warnings,
    async stop() {
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
    },
  };
}

/** Every place a secret could leak from an error: message, cause, stack, JSON, inspect. */
export function errorSurfaces(err: Error): string[] {
  const cause = err.cause as Error | undefined;
  return [
    err.message, String(err.stack), String(cause?.message), String(cause?.stack), JSON.stringify(err),
    inspect(err, { depth: null, showHidden: true }),
  ];
}
