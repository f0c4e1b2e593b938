// The plugin authoring API. The primary style is definePlugin({ name,
// version, needs?, configSchema?, setup(ctx) }) whose setup returns the
// plugin's { start?, stop? }. The class style UCS authors know is accepted
// too: a class constructed with the context, with optional start() and
// stop(), and its name, version, needs and configSchema as static members.

import type { z } from 'zod';
import type { HookMap } from '../host.js';
import type { PluginContext } from './context.js';

/** What setup (or a class instance) may provide; both are optional. */
export interface PluginHooks {
  /** Awaited with the start timeout; must not block (start background work with ctx.task). */
  start?(): void | Promise<void>;
  /** Runs on unload, reload and shutdown, with the stop timeout. Registrations are removed after it anyway. */
  stop?(): void | Promise<void>;
}

export interface PluginMeta<C = unknown> {
  /** The name the config's `plugins.active` list and the API use. */
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  /** Plugins that must be running first. */
  readonly needs?: readonly string[];
  /** Validates the plugin's section `plugins.config.<name>` before start; its output is ctx.config. */
  readonly configSchema?: z.ZodType<C>;
}

export interface PluginDefinition<C = unknown, M extends HookMap = HookMap> extends PluginMeta<C> {
  /** Called once per load with the plugin's context. */
  setup(ctx: PluginContext<C, M>): PluginHooks | void | Promise<PluginHooks | void>;
}

/** The class style: `new Plugin(ctx)`, then start() and stop(). */
export interface PluginClass<C = unknown, M extends HookMap = HookMap> {
  new (ctx: PluginContext<C, M>): PluginHooks;
  /** The plugin's name; defaults to the module's file name without extension. */
  readonly pluginName?: string;
  readonly version?: string;
  readonly description?: string;
  readonly needs?: readonly string[];
  readonly configSchema?: z.ZodType<C>;
}

const BRAND = Symbol.for('hookwork.plugin');

/** A normalized definition, whatever style the module used. */
export type AnyPluginDefinition = PluginDefinition<unknown, HookMap>;

/** Declares a plugin (the export named `plugin` or the default export). */
export function definePlugin<C = unknown, M extends HookMap = HookMap>(definition: PluginDefinition<C, M>): PluginDefinition<C, M> {
  return Object.freeze({ ...definition, [BRAND]: true });
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function isClass(value: unknown): value is PluginClass {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

function checkMeta(meta: { name: unknown; version: unknown; needs?: unknown }): string | undefined {
  if (typeof meta.name !== 'string' || !NAME_PATTERN.test(meta.name)) {
    return `its name ${JSON.stringify(meta.name)} must be a non-empty string of letters, digits, ".", "_" or "-".`;
  }
  if (typeof meta.version !== 'string' || meta.version === '') return `its version must be a non-empty string.`;
  if (meta.needs !== undefined && (!Array.isArray(meta.needs) || meta.needs.some((n) => typeof n !== 'string'))) {
    return `"needs" must be a list of plugin names.`;
  }
  return undefined;
}

export type ExtractResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly problem: string }
  | { readonly kind: 'plugin'; readonly definition: AnyPluginDefinition };

/**
 * Finds the plugin in a module's exports (`plugin`, then `default`):
 * a definePlugin() result, a plain object of the same shape, or a class.
 */
export function extractPlugin(exports: Record<string, unknown>, fallbackName: string): ExtractResult {
  const candidate = exports['plugin'] ?? exports['default'];
  if (candidate === undefined || candidate === null) return { kind: 'none' };
  if (isClass(candidate)) {
    const meta = {
      name: candidate.pluginName ?? fallbackName,
      version: candidate.version ?? '0.0.0',
      needs: candidate.needs,
    };
    const problem = checkMeta(meta);
    if (problem !== undefined) return { kind: 'invalid', problem };
    const Plugin = candidate;
    const definition: AnyPluginDefinition = Object.freeze({
      name: meta.name,
      version: meta.version,
      ...(candidate.description === undefined ? {} : { description: candidate.description }),
      ...(candidate.needs === undefined ? {} : { needs: [...candidate.needs] }),
      ...(candidate.configSchema === undefined ? {} : { configSchema: candidate.configSchema }),
      setup(ctx: PluginContext) {
        const instance = new Plugin(ctx);
        return {
          ...(typeof instance.start === 'function' ? { start: () => instance.start?.() } : {}),
          ...(typeof instance.stop === 'function' ? { stop: () => instance.stop?.() } : {}),
        };
      },
    });
    return { kind: 'plugin', definition };
  }
  if (typeof candidate !== 'object') return { kind: 'none' };
  const object = candidate as Partial<AnyPluginDefinition> & { [BRAND]?: true };
  if (typeof object.setup !== 'function') {
    // A branded object without setup is an author's mistake; anything else is just not a plugin.
    return object[BRAND] === true || typeof object.name === 'string'
      ? { kind: 'invalid', problem: 'it has no setup(ctx) function.' }
      : { kind: 'none' };
  }
  const problem = checkMeta({ name: object.name, version: object.version, needs: object.needs });
  if (problem !== undefined) return { kind: 'invalid', problem };
  const configSchema = object.configSchema as { safeParse?: unknown } | undefined;
  if (configSchema !== undefined && typeof configSchema.safeParse !== 'function') {
    return { kind: 'invalid', problem: 'its configSchema is not a zod schema.' };
  }
  return { kind: 'plugin', definition: object as AnyPluginDefinition };
}
