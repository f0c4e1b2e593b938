// Config reload without a restart. A subsystem that can take a new config
// registers a Reloadable naming the config sections it owns. reload() lets
// every concerned subsystem prepare (build everything, swap nothing), and only
// when all of them prepared does it commit them, in registration order: a new
// config that fails anywhere changes nothing. Sections that changed but that
// no subsystem takes are reported as needing a restart.

import { isDeepStrictEqual } from 'node:util';
import { toError } from '../errors.js';
import type { HookworkConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';

export type ConfigSection = keyof HookworkConfig;

/** What a subsystem built from the new config, not yet in use. */
export interface PreparedReload {
  /** Swaps the new parts in. Must not fail for config reasons: prepare checks. */
  commit(): void | Promise<void>;
  /** Throws the prepared parts away (another subsystem refused the config). */
  discard?(): void | Promise<void>;
}

export interface Reloadable {
  /** For reports and logs, e.g. "targets". */
  readonly name: string;
  readonly sections: readonly ConfigSection[];
  /**
   * Also prepared when none of its sections changed: for subsystems that read
   * files of their own (a `webhooks_path` folder) which may have changed.
   */
  readonly always?: (next: HookworkConfig) => boolean;
  /** Builds from `next`; throws a ConfigError to refuse it; undefined when there is nothing to do. */
  prepare(next: HookworkConfig, previous: HookworkConfig): Promise<PreparedReload | undefined>;
}

export interface ReloadReport {
  /** Subsystems that took the new config. */
  readonly applied: readonly string[];
  /** Top-level sections that differ from the running config. */
  readonly changed: readonly ConfigSection[];
  /** Changed sections only a restart applies (server, store, events, …). */
  readonly restartNeeded: readonly ConfigSection[];
}

export function changedSections(previous: HookworkConfig, next: HookworkConfig): ConfigSection[] {
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)] as ConfigSection[]);
  return [...keys].filter((key) => !isDeepStrictEqual(previous[key], next[key])).sort();
}

export class ReloadRegistry {
  readonly #reloadables: Reloadable[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(reloadable: Reloadable): () => void {
    this.#reloadables.push(reloadable);
    return () => {
      const index = this.#reloadables.indexOf(reloadable);
      if (index !== -1) this.#reloadables.splice(index, 1);
    };
  }

  async apply(previous: HookworkConfig, next: HookworkConfig): Promise<ReloadReport> {
    const changed = changedSections(previous, next);
    const concerned = this.#reloadables.filter(
      (r) => r.sections.some((section) => changed.includes(section)) || r.always?.(next) === true,
    );
    const prepared: Array<{ name: string; parts: PreparedReload }> = [];
    try {
      for (const reloadable of concerned) {
        const parts = await reloadable.prepare(next, previous);
        if (parts !== undefined) prepared.push({ name: reloadable.name, parts });
      }
    } catch (err) {
      for (const { name, parts } of prepared.reverse()) {
        await Promise.resolve(parts.discard?.()).catch((discardErr: unknown) =>
          this.#logger.warn({ err: toError(discardErr), subsystem: name }, 'Discarding a prepared reload failed'),
        );
      }
      throw err;
    }
    for (const { parts } of prepared) await parts.commit();
    const taken = new Set(this.#reloadables.flatMap((r) => r.sections));
    return Object.freeze({
      applied: prepared.map((p) => p.name),
      changed,
      restartNeeded: changed.filter((section) => !taken.has(section)),
    });
  }
}
