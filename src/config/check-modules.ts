// `hookwork validate`'s import check: every extension entry point resolves
// and imports (its class has a static handle()), and every active plugin
// imports and is found by its name. A problem names the config key, as the
// schema's problems do. Importing runs each module's top-level code, as the
// gateway would at start; nothing is started (no onStart, setup or start).

import type { ConfigProblem } from '../errors.js';
import { toError } from '../errors.js';
import { loadHandlerClass, resolveEntryPoint } from '../extensions/loader.js';
import { importPlugin, scanPluginFolder } from '../plugins/discovery.js';
import type { HookworkConfig } from './schema.js';
import { isAbsolute, resolve } from 'node:path';

export async function checkModules(config: HookworkConfig, baseDir: string): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const resolvePath = (path: string): string => (isAbsolute(path) ? path : resolve(baseDir, path));

  const extensions = resolvePath(config.extensions.folder);
  for (const [index, handler] of config.handlers.entries()) {
    if (handler.type !== 'extension') continue;
    try {
      const resolved = resolveEntryPoint(handler.name, handler.entry_point, extensions);
      // Python modules are imported by the Python runtime when the handler starts.
      if (resolved.language === 'node') await loadHandlerClass(handler.name, handler.entry_point, resolved);
    } catch (err) {
      problems.push({ key: `handlers.${index}.entry_point`, message: `cannot load "${handler.entry_point}": ${toError(err).message}` });
    }
  }

  if (config.plugins.active.length > 0) {
    const folder = resolvePath(config.plugins.folder);
    const found = new Set<string>();
    const broken = new Map<string, string>();
    for (const candidate of scanPluginFolder(folder)) {
      try {
        const module = await importPlugin(candidate);
        if (module !== undefined) found.add(module.definition.name);
      } catch (err) {
        broken.set(candidate.base, toError(err).message);
      }
    }
    for (const [index, name] of config.plugins.active.entries()) {
      if (found.has(name)) continue;
      const key = `plugins.active.${index}`;
      const failure = broken.get(name);
      if (failure !== undefined) problems.push({ key, message: `cannot load plugin "${name}": ${failure}` });
      else {
        const others = [...broken.keys()];
        const hint = others.length === 0 ? '' : ` (modules that did not import: ${others.join(', ')})`;
        problems.push({ key, message: `cannot load plugin "${name}": no plugin of that name in the plugins folder ${folder}${hint}` });
      }
    }
  }
  return problems;
}
