// Python extension handlers: where the runtime is (python/hookwork_runtime.py,
// at the package root, so the same relative path works from src/ and dist/),
// how it is started, the one pool of Python worker processes every Python
// handler shares (started on first use), and one main process per handler.

import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import type { ProcessRole } from './protocol.js';
import type { ProcessCommand } from './protocol-process.js';
import { ProcessPool } from './process-pool.js';
import { PythonMainSide, type PythonMainSideOptions } from './python-main-side.js';

/** The runtime script Hookwork ships (standard library only, Python 3.9+). */
export const PYTHON_RUNTIME = fileURLToPath(new URL('../../python/hookwork_runtime.py', import.meta.url));

export interface PythonExtensionsOptions {
  /** The interpreter: a path, or a name looked up on the PATH. Default `python3`. */
  readonly interpreter?: string;
  /** The extensions folder: on the runtime's sys.path (and its working directory). */
  readonly folder: string;
  readonly poolSize: number;
  readonly maxQueue?: number;
  /** Handle frames in flight per process (ProcessPoolOptions.pipeline). */
  readonly pipeline?: number;
  /** Address-space cap of each worker process, MB (RLIMIT_AS). */
  readonly memoryLimitMb?: number;
  readonly logger: Logger;
}

export class PythonExtensions {
  readonly #options: PythonExtensionsOptions;
  #pool: ProcessPool | undefined;
  readonly #mains = new Set<PythonMainSide>();

  constructor(options: PythonExtensionsOptions) {
    this.#options = options;
  }

  /** How to start the runtime in a role. */
  command(role: ProcessRole): ProcessCommand {
    const { memoryLimitMb, folder } = this.#options;
    return {
      file: this.#options.interpreter ?? 'python3',
      args: ['-u', PYTHON_RUNTIME, role],
      env: {
        HOOKWORK_EXTENSIONS_FOLDER: folder,
        ...(role === 'worker' && memoryLimitMb !== undefined ? { HOOKWORK_MEMORY_LIMIT_MB: String(memoryLimitMb) } : {}),
      },
      cwd: folder,
    };
  }

  /** The worker pool, started on first use. */
  get pool(): ProcessPool {
    this.#pool ??= new ProcessPool({
      size: this.#options.poolSize,
      ...(this.#options.maxQueue === undefined ? {} : { maxQueue: this.#options.maxQueue }),
      ...(this.#options.pipeline === undefined ? {} : { pipeline: this.#options.pipeline }),
      ...(this.#options.memoryLimitMb === undefined ? {} : { memoryLimitMb: this.#options.memoryLimitMb }),
      command: this.command('worker'),
      name: 'python',
      logger: this.#options.logger,
    });
    return this.#pool;
  }

  /** The main side of one handler (its process starts on load). */
  mainSide(options: Omit<PythonMainSideOptions, 'command' | 'runner' | 'logger'>): PythonMainSide {
    const main = new PythonMainSide({ ...options, command: this.command('main'), runner: this.pool, logger: this.#options.logger });
    this.#mains.add(main);
    return main;
  }

  /** Ends every Python process. */
  async close(): Promise<void> {
    await Promise.all([...this.#mains].map((main) => main.close()));
    this.#mains.clear();
    await this.#pool?.close();
  }
}
