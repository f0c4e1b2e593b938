// Discovery: every .js, .mjs, .cjs, .ts, .mts or .cts file in the plugins folder, or folder
// with a package.json, is a candidate (UCS imports every .py but
// __init__.py; here index files and hidden files are skipped). A module
// without a plugin export is skipped with a debug line, as UCS does.
//
// Fresh code on reload: a module is imported under a URL carrying the hash
// of its entry file's content, so an unchanged file reuses the loaded module
// (nothing piles up in the module cache) and a changed one is imported anew.
// Modules load as ES modules wherever the folder is (CommonJS for .cjs and
// .cts), TypeScript through tsx: see module-loader.ts.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { PluginDefinitionError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { extractPlugin, type AnyPluginDefinition } from './definition.js';
import { importOperatorModule, isTypeScriptFile } from '../module-loader.js';

const EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);

export interface PluginCandidate {
  /** What sits in the plugins folder: the file, or the package folder. */
  readonly path: string;
  /** The module that is imported. */
  readonly entry: string;
  /** The file or folder name without extension (LUNA names plugins by it). */
  readonly base: string;
}

export interface LoadedPluginModule {
  readonly candidate: PluginCandidate;
  readonly definition: AnyPluginDefinition;
  /** Hash of the entry file's content when it was imported. */
  readonly hash: string;
}

function isCandidateFile(name: string): boolean {
  if (name.startsWith('.') || /\.d\.[mc]?ts$/.test(name)) return false;
  const ext = extname(name);
  return EXTENSIONS.has(ext) && basename(name, ext) !== 'index';
}

/** The entry module of a plugin package: exports, then main, then index.*. */
export function packageEntry(folder: string): string | undefined {
  let manifest: { main?: unknown; exports?: unknown };
  try {
    manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as typeof manifest;
  } catch {
    return undefined;
  }
  const fromExports = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      return fromExports(record['.'] ?? record['import'] ?? record['default']);
    }
    return undefined;
  };
  const declared = fromExports(manifest.exports) ?? (typeof manifest.main === 'string' ? manifest.main : undefined);
  const choices = declared === undefined ? ['index.js', 'index.mjs', 'index.cjs', 'index.ts', 'index.mts', 'index.cts'] : [declared];
  for (const choice of choices) {
    const file = join(folder, choice);
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  return undefined;
}

/** Lists the candidates in a folder, sorted by name; a missing folder has none. */
export function scanPluginFolder(folder: string, logger?: Logger): PluginCandidate[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const candidates: PluginCandidate[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      if (!existsSync(join(path, 'package.json'))) continue;
      const main = packageEntry(path);
      if (main === undefined) {
        logger?.warn({ folder: path }, `Plugin package ${path} has no entry module (package.json "exports"/"main" or index.js); skipped`);
        continue;
      }
      candidates.push({ path, entry: main, base: entry.name });
    } else if (entry.isFile() && isCandidateFile(entry.name)) {
      candidates.push({ path, entry: path, base: basename(entry.name, extname(entry.name)) });
    }
  }
  return candidates;
}

function contentHash(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

// tsx keys TypeScript modules by path (it drops query strings), so a
// changed .ts file is imported from a hidden copy beside it: same folder, so
// its relative imports, and the library it imports, resolve to the very same
// modules. The copy is removed once imported. (A tsx namespace would give
// fresh code too, but also a second copy of every module the plugin imports,
// library included, breaking instanceof and symbols.)
const firstTypeScriptHash = new Map<string, string>();

async function importTypeScript(entry: string, hash: string, content: Buffer): Promise<Record<string, unknown>> {
  const first = firstTypeScriptHash.get(entry);
  if (first === undefined || first === hash) {
    const exports = await importOperatorModule(entry);
    firstTypeScriptHash.set(entry, hash);
    return exports;
  }
  const ext = extname(entry);
  const copy = join(dirname(entry), `.${basename(entry, ext)}.${hash}.hookwork${ext}`);
  writeFileSync(copy, content);
  try {
    return await importOperatorModule(copy);
  } finally {
    rmSync(copy, { force: true });
  }
}

/** True when the entry file's content differs from what was imported. */
export function hasChanged(module: LoadedPluginModule): boolean {
  try {
    return contentHash(readFileSync(module.candidate.entry)) !== module.hash;
  } catch {
    return true;
  }
}

/**
 * Imports a candidate and finds its plugin. Returns undefined (after a
 * debug line) when the module exports no plugin; throws
 * PluginDefinitionError when the export is malformed or the import fails.
 */
export async function importPlugin(candidate: PluginCandidate, logger?: Logger): Promise<LoadedPluginModule | undefined> {
  let hash: string;
  let exports: Record<string, unknown>;
  try {
    const content = readFileSync(candidate.entry);
    hash = contentHash(content);
    exports = isTypeScriptFile(candidate.entry)
      ? await importTypeScript(candidate.entry, hash, content)
      : await importOperatorModule(candidate.entry, { v: hash });
  } catch (err) {
    throw new PluginDefinitionError(candidate.path, `importing ${candidate.entry} failed: ${toError(err).message}`);
  }
  const found = extractPlugin(exports, candidate.base);
  if (found.kind === 'none') {
    logger?.debug({ file: candidate.path }, `${candidate.path} exports no plugin (no "plugin" or default export); skipped`);
    return undefined;
  }
  if (found.kind === 'invalid') throw new PluginDefinitionError(candidate.path, found.problem);
  return { candidate, definition: found.definition, hash };
}
