// Process isolation for JavaScript handlers (`isolation: process`): handle()
// runs in Node child processes speaking the extension protocol
// (node/hookwork_runtime.mjs, at the package root so the same relative path
// works from src/ and dist/), each started under Node's permission model:
// it may read the extensions folder, the runtime file and the handler's
// read_paths, write its write_paths, and nothing else; no child processes,
// no worker threads, no native addons; a heap cap. Handlers with the same
// grants share one pool (the permissions are fixed when a process starts).

import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import type { ProcessCommand } from './protocol-process.js';
import { ProcessPool } from './process-pool.js';

/** The runtime script Hookwork ships (node: builtins only). */
export const NODE_RUNTIME = fileURLToPath(new URL('../../node/hookwork_runtime.mjs', import.meta.url));

/** What V8 prints when a heap passes --max-old-space-size: the process then aborts. */
export const NODE_OUT_OF_MEMORY_LINE = /JavaScript heap out of memory|Reached heap limit/;

const flags = process.allowedNodeEnvironmentFlags;
/** `--permission` from Node 22.13/23.5; `--experimental-permission` before. */
const PERMISSION_FLAG = flags.has('--permission') ? '--permission' : '--experimental-permission';

/** What one process may touch, besides the extensions folder and the runtime. */
export interface NodeGrants {
  readonly readPaths: readonly string[];
  readonly writePaths: readonly string[];
}

export interface NodeProcessesOptions {
  /** The extensions folder (readable, and where handler modules are imported from). */
  readonly folder: string;
  readonly poolSize: number;
  readonly maxQueue?: number;
  /** Handle frames in flight per process (ProcessPoolOptions.pipeline). */
  readonly pipeline?: number;
  /** Heap cap of each process, MB (--max-old-space-size). */
  readonly memoryLimitMb?: number;
  readonly logger: Logger;
}

/** The node arguments that lock a runtime process down. */
export function lockedDownArgs(folder: string, grants: NodeGrants, memoryLimitMb?: number): string[] {
  const args = [PERMISSION_FLAG, `--allow-fs-read=${NODE_RUNTIME}`, `--allow-fs-read=${folder}`];
  for (const path of grants.readPaths) args.push(`--allow-fs-read=${path}`);
  for (const path of grants.writePaths) args.push(`--allow-fs-write=${path}`);
  args.push('--no-addons');
  // ES module syntax in a .js file of a folder with no package.json "type"
  // (Hookwork's rule for operator code); the default from Node 22.7.
  if (flags.has('--experimental-detect-module')) args.push('--experimental-detect-module');
  // The permission model's own "experimental" warning is noise in the log.
  if (flags.has('--disable-warning')) args.push('--disable-warning=ExperimentalWarning');
  if (memoryLimitMb !== undefined) args.push(`--max-old-space-size=${memoryLimitMb}`);
  return args;
}

export class NodeProcesses {
  readonly #options: NodeProcessesOptions;
  readonly #pools = new Map<string, ProcessPool>();

  constructor(options: NodeProcessesOptions) {
    this.#options = options;
  }

  /** How to start a worker with these grants. */
  command(grants: NodeGrants): ProcessCommand {
    const { folder, memoryLimitMb } = this.#options;
    return {
      file: process.execPath,
      args: [...lockedDownArgs(folder, grants, memoryLimitMb), NODE_RUNTIME, 'worker'],
      env: { HOOKWORK_EXTENSIONS_FOLDER: folder },
      cwd: folder,
    };
  }

  /** The pool of processes with these grants (started on first use). */
  pool(grants: NodeGrants): ProcessPool {
    const key = JSON.stringify([[...grants.readPaths].sort(), [...grants.writePaths].sort()]);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new ProcessPool({
        size: this.#options.poolSize,
        ...(this.#options.maxQueue === undefined ? {} : { maxQueue: this.#options.maxQueue }),
        ...(this.#options.pipeline === undefined ? {} : { pipeline: this.#options.pipeline }),
        ...(this.#options.memoryLimitMb === undefined ? {} : { memoryLimitMb: this.#options.memoryLimitMb }),
        command: this.command(grants),
        name: 'node',
        logger: this.#options.logger,
        outOfMemoryLine: NODE_OUT_OF_MEMORY_LINE,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Ends every process. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }
}
