import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// Starting the engine's own worker threads from its sources or its build:
// the worker file is `.ts` when the engine runs from TypeScript, and then the
// worker needs tsx's loader too.

const RUNNING_FROM_TS = import.meta.url.endsWith('.ts');

/** The URL of a worker module next to `base` (an import.meta.url), named without its extension. */
export function workerModule(base: string, name: string): URL {
  return new URL(`${name}${RUNNING_FROM_TS ? '.ts' : '.js'}`, base);
}

/** execArgv for a worker of TypeScript sources, or undefined when the defaults (inherited) do. */
export function workerExecArgv(): string[] | undefined {
  // Already loaded through tsx (`node --import tsx`, the tsx CLI): workers inherit execArgv.
  if (!RUNNING_FROM_TS || process.execArgv.some((arg) => arg.includes('tsx'))) return undefined;
  try {
    return [...process.execArgv, '--import', import.meta.resolve('tsx')];
  } catch {
    // tsx is not installed: a worker of .ts sources fails with its import error.
    return undefined;
  }
}

/** Where tsx's require hook (`tsx/cjs/api`) is, or null when tsx is not installed. */
export function tsxCjsApi(): string | null {
  try {
    return createRequire(import.meta.url).resolve('tsx/cjs/api');
  } catch {
    return null;
  }
}

/**
 * What to hand `new Worker()` for a worker module: the module itself, or, when
 * it is TypeScript, a short script that installs tsx's require hook and
 * require()s it: on Node 20 the `--import tsx` ESM hooks are not in force for
 * a worker's main module or its import()s (handler modules load the same way,
 * see extensions/worker.ts).
 */
export function workerEntry(module: URL): { entry: string | URL; eval: boolean } {
  const api = RUNNING_FROM_TS ? tsxCjsApi() : null;
  // Without tsx, a worker of .ts sources fails with its import error.
  if (api === null) return { entry: module, eval: false };
  return { entry: `require(${JSON.stringify(api)}).register(); require(${JSON.stringify(fileURLToPath(module))});`, eval: true };
}
