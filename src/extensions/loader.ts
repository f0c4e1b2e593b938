// Entry points: where an extension's module is and which export is its
// class. Three spellings, all resolved against the extensions folder:
//
//   demo-event-handler.ts#DemoEventHandler      path (extension optional) # export
//   extensions.demo_event_handler.DemoEventHandler   dotted, the last part is the export
//   python:extensions.demo_event_handler.DemoEventHandler   the seed's form of the same
//
// A dotted module tries `a/b`, then without a leading folder name that is
// the extensions folder's own (`extensions.`), with `_` or `-` spellings.
// Each spelling may be a Python module (`a/b.py`, run by the Python runtime)
// or a TypeScript/JavaScript one; the same spelling as both is a config
// error naming both files (which one runs must not depend on a lookup order).

import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { ExtensionLoadError } from '../errors.js';
import { importOperatorModule, operatorModuleUrl } from '../module-loader.js';
import type { ExtensionHandlerClass } from './contract.js';

const MODULE_EXTENSIONS = ['', '.ts', '.mts', '.js', '.mjs', '.cjs', '.cts'];

export interface ResolvedEntryPoint {
  /** `python` runs in the Python runtime (a `.py` module); `node` in the thread pool. */
  readonly language: 'node' | 'python';
  /** Absolute path of the module. */
  readonly file: string;
  /** The URL workers import it by (marked as operator code, see module-loader.ts); for Python, the module's dotted name on the extensions folder's path. */
  readonly url: string;
  readonly exportName: string;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findModule(folder: string, path: string): string | undefined {
  const base = isAbsolute(path) ? path : resolve(folder, path);
  for (const extension of MODULE_EXTENSIONS) {
    const candidate = base + extension;
    if (isFile(candidate)) return candidate;
  }
  return undefined;
}

/** `a/b.py` under the folder, if it is there. */
function findPythonModule(folder: string, path: string): string | undefined {
  if (isAbsolute(path) || path.includes('-')) return undefined; // not a Python module name
  const file = resolve(folder, path.endsWith('.py') ? path : `${path}.py`);
  return isFile(file) ? file : undefined;
}

/** The dotted name Python imports a file of the extensions folder by. */
function pythonModuleName(folder: string, file: string): string {
  return relative(folder, file).replace(/\.py$/, '').split(sep).join('.');
}

/** The module paths a dotted entry point may mean, most literal first. */
function dottedCandidates(folder: string, modulePath: string): string[] {
  const parts = modulePath.split('.');
  const variants = (segments: string[]): string[] => {
    const snake = segments.join('/');
    const kebab = segments.map((s) => s.replaceAll('_', '-')).join('/');
    return snake === kebab ? [snake] : [snake, kebab];
  };
  const out = variants(parts);
  const first = parts[0] ?? '';
  const folderName = basename(folder);
  if (parts.length > 1 && (first === folderName || first === 'extensions' || first === 'extension')) {
    out.push(...variants(parts.slice(1)));
  }
  return out;
}

/** Finds the module and export an entry point names; throws ExtensionLoadError listing where it looked. */
export function resolveEntryPoint(handler: string, entryPoint: string, folder: string): ResolvedEntryPoint {
  let spec = entryPoint.trim();
  if (spec.startsWith('python:')) spec = spec.slice('python:'.length).trim();
  let exportName: string;
  let candidates: string[];
  const hash = spec.lastIndexOf('#');
  if (hash !== -1) {
    exportName = spec.slice(hash + 1).trim();
    candidates = [spec.slice(0, hash).trim()];
  } else {
    const dot = spec.lastIndexOf('.');
    if (dot <= 0) {
      throw new ExtensionLoadError(handler, entryPoint, 'it names no module; write module/path.ts#ExportName or module.ExportName');
    }
    exportName = spec.slice(dot + 1);
    candidates = dottedCandidates(folder, spec.slice(0, dot));
  }
  if (exportName === '' || candidates[0] === '') {
    throw new ExtensionLoadError(handler, entryPoint, 'the module path and the export name must both be given');
  }
  for (const candidate of candidates) {
    const python = findPythonModule(folder, candidate);
    const file = candidate.endsWith('.py') ? undefined : findModule(folder, candidate);
    if (python !== undefined && file !== undefined) {
      throw new ExtensionLoadError(handler, entryPoint, `it names both ${python} and ${file}; rename or remove one of them`);
    }
    if (python !== undefined) return { language: 'python', file: python, url: pythonModuleName(folder, python), exportName };
    if (file !== undefined) return { language: 'node', file, url: operatorModuleUrl(file), exportName };
  }
  const tried = candidates.map((c) => (isAbsolute(c) ? c : resolve(folder, c))).join(', ');
  const hint = existsSync(folder) ? '' : ` (the extensions folder ${folder} does not exist)`;
  throw new ExtensionLoadError(handler, entryPoint, `no module found at ${tried} (with .py, .ts, .mts, .js, .mjs, .cjs or .cts)${hint}`);
}

/** Imports the handler module in the main process and checks its class against the contract. */
export async function loadHandlerClass(handler: string, entryPoint: string, resolved: ResolvedEntryPoint): Promise<ExtensionHandlerClass> {
  let namespace: Record<string, unknown>;
  try {
    // ESM wherever the file lives (CommonJS for .cjs/.cts), TypeScript through tsx.
    namespace = await importOperatorModule(resolved.file);
  } catch (err) {
    throw new ExtensionLoadError(handler, entryPoint, `importing ${resolved.file} failed: ${(err as Error).message}`, { cause: err });
  }
  const exported = namespace[resolved.exportName];
  if (typeof exported !== 'function') {
    const names = Object.keys(namespace).join(', ') || 'none';
    throw new ExtensionLoadError(handler, entryPoint, `${resolved.file} has no class export "${resolved.exportName}" (exports: ${names})`);
  }
  if (typeof (exported as { handle?: unknown }).handle !== 'function') {
    throw new ExtensionLoadError(handler, entryPoint, `class "${resolved.exportName}" has no static handle(event, configuration) method`);
  }
  const targets = (exported as { TARGET_EVENTS?: unknown }).TARGET_EVENTS;
  if (targets !== undefined && (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string' && typeof t !== 'number'))) {
    throw new ExtensionLoadError(handler, entryPoint, `static TARGET_EVENTS of "${resolved.exportName}" must be a list of event ids`);
  }
  return exported as ExtensionHandlerClass;
}
