/**
 * Loads an optional peer dependency on first use, synchronously, from where wirewarden is
 * installed (so an installed package resolves the user's copy). wirewarden never imports
 * one at module load: a user without it loses only the feature that needs it.
 */
import { createRequire } from 'node:module';
import { InvalidOptionError } from '../errors.js';

const require = createRequire(import.meta.url);

/**
 * `require(name)`, or a `WW_INVALID_OPTION` naming the package to install and the option
 * that passes the module in instead.
 */
export function loadOptionalPeer<T>(name: string, feature: string, option: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err;
    throw new InvalidOptionError(`${feature} needs the optional peer dependency ${name}: install it (npm install ${name}) or pass the module as ${option}`, { cause: err });
  }
}

/** wirewarden's version, for the instrumentation scope (src/observe and dist/observe are both two levels deep). */
export function wirewardenVersion(): string {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
