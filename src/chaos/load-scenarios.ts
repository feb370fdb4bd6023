/**
 * Finds and loads scenario files for `wirewarden chaos run`.
 *
 * A `.js`/`.mjs` file loads with plain `import()`. A TypeScript file needs a loader, and
 * tsx is an optional peer dependency, not a dependency: when the process cannot load
 * `.ts` already (under tsx or vitest it can), tsx is resolved at run time — next to the
 * scenario file, then from the working directory, then from this package — and
 * registered once; without it the error says how to get it.
 *
 * On a worker thread (a seed sweep's, seed-sweep.ts) a loader registered there does not
 * apply to `import()` on Node 20, so a `.ts` file goes through tsx's `tsImport` instead.
 *
 * A bare name (`slow-server`) that is no file names a scenario shipped with the package:
 * compiled `.js` in `dist/examples/chaos/` when installed, `examples/chaos/*.ts` in a
 * checkout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isScenario } from './define-scenario.js';
import type { Scenario } from './scenario-types.js';

const compiled = !import.meta.url.endsWith('.ts');
const SHIPPED_DIR = new URL(compiled ? '../examples/chaos/' : '../../examples/chaos/', import.meta.url);
const SHIPPED_EXT = compiled ? '.js' : '.ts';
const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

/** Names of the scenarios shipped with the package, sorted. */
export function shippedScenarios(): string[] {
  try {
    return readdirSync(SHIPPED_DIR)
      .filter((f) => f.endsWith(SHIPPED_EXT) && !f.endsWith('.d.ts'))
      .map((f) => f.slice(0, -SHIPPED_EXT.length))
      .sort();
  } catch {
    return [];
  }
}

/** The absolute path `arg` stands for: a file as given, else a shipped scenario's name. */
export function scenarioPath(arg: string): string {
  const asGiven = resolve(arg);
  if (existsSync(asGiven) || !/^[\w-]+$/.test(arg)) return asGiven;
  const shipped = fileURLToPath(new URL(`${arg}${SHIPPED_EXT}`, SHIPPED_DIR));
  return existsSync(shipped) ? shipped : asGiven;
}

let tsxRegistration: Promise<void> | undefined;

const TSX_MISSING = 'a TypeScript scenario needs tsx, an optional peer dependency: `npm install --save-dev tsx` (or write the scenario as .js/.mjs)';

/** A tsx entry (`tsx`: its loader, which `import` registers), looked up from each directory in turn. */
function findTsx(from: readonly string[], entry = 'tsx'): string | undefined {
  for (const dir of from) {
    try {
      return createRequire(join(dir, 'noop.js')).resolve(entry);
    } catch {
      // not installed there; try the next place
    }
  }
  return undefined;
}

const tsxPlaces = (file: string) => [dirname(file), process.cwd(), fileURLToPath(new URL('.', import.meta.url))];

function registerTsx(file: string): Promise<void> {
  tsxRegistration ??= (async () => {
    const loader = findTsx(tsxPlaces(file));
    if (loader === undefined) throw new Error(TSX_MISSING);
    await import(pathToFileURL(loader).href);
  })();
  return tsxRegistration;
}

/** A `.ts` module through tsx's `tsImport`, which works where a registered loader does not (worker threads). */
async function tsImportFile(path: string, url: string): Promise<{ default?: unknown }> {
  const manifest = findTsx(tsxPlaces(path), 'tsx/package.json');
  if (manifest === undefined) throw new Error(TSX_MISSING);
  // The ESM build of tsx/esm/api ("import" condition): `require.resolve` would give the
  // CommonJS one, which a worker's CommonJS hooks then load wrongly.
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const entry = exports?.['./esm/api']?.import?.default;
  if (entry === undefined) throw new Error(`the tsx at ${dirname(manifest)} has no tsx/esm/api: update tsx`);
  const { tsImport } = (await import(pathToFileURL(join(dirname(manifest), entry)).href)) as { tsImport: TsImport };
  const mod = (await tsImport(url, import.meta.url)) as { default?: unknown };
  // A file outside an ESM package comes back compiled to CommonJS: its `export default`
  // is `module.exports.default`, under the namespace's `default`.
  const inner = mod.default as { __esModule?: unknown; default?: unknown } | undefined;
  return inner?.__esModule === true ? { default: inner.default } : mod;
}

type TsImport = (specifier: string, parentURL: string) => Promise<unknown>;

async function importScenarioFile(path: string): Promise<{ default?: unknown }> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as { default?: unknown };
  } catch (err) {
    if (!TYPESCRIPT_FILE.test(path) || (err as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  }
  if (!isMainThread) return tsImportFile(path, url);
  await registerTsx(path);
  // Node keeps the failed load for this URL: a query makes the retry a fresh load.
  return (await import(`${url}?tsx`)) as { default?: unknown };
}

/**
 * The scenarios the file `arg` names default-exports, or an error message.
 *
 * @example
 * const scenarios = await loadScenarios('slow-server');   // a shipped scenario
 * if (typeof scenarios === 'string') throw new Error(scenarios);
 */
export async function loadScenarios(arg: string): Promise<Scenario[] | string> {
  let mod: { default?: unknown };
  try {
    mod = await importScenarioFile(scenarioPath(arg));
  } catch (err) {
    return `cannot load ${arg}: ${err instanceof Error ? err.message : String(err)}`;
  }
  const exported = Array.isArray(mod.default) ? mod.default : [mod.default];
  const bad = exported.findIndex((s) => !isScenario(s));
  if (exported.length === 0 || bad >= 0) {
    return `${arg} must default-export defineScenario(...) or an array of them${bad > 0 ? ` (element ${bad} is not one)` : ''}`;
  }
  return exported as Scenario[];
}
