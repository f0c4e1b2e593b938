// Loading operator code (plugins and extension handlers) as ES modules
// wherever it lives, in the main thread and in worker threads.
//
// Why a loader hook: Node (and tsx, which follows Node) decides a file's
// format from the nearest package.json. An operator's folder
// (/etc/hookwork/extensions) is usually inside no package, or a package
// without `"type": "module"`, so `.ts` and `.js` files there were taken for
// CommonJS: tsx compiled them to CommonJS (named exports lost, top-level
// await refused, "Cannot require() ES Module" in workers). Hookwork's rule is
// plain instead: `.ts`, `.mts`, `.js` and `.mjs` are ES modules, `.cjs` and
// `.cts` CommonJS, and a package.json that says `"type"` explicitly is obeyed.
//
// The hook below forces the `module` format only for modules Hookwork itself
// imports (their URL carries a marker query, removed before resolving) and
// the files they import in turn, outside node_modules: the rest of the
// process (the host application's own files, dependencies) keeps Node's
// rules. It runs as a data: URL so the built package needs no extra file.
//
// TypeScript: tsx's ESM hooks are registered in each thread (once) before the
// first TypeScript module is imported, unless the main thread already runs
// under tsx (`node --import tsx`, the tsx CLI). Worker threads always register
// their own: on Node 20, hooks of the main thread or of `--import` in a
// worker's execArgv do not apply to a worker's import(). A second tsx
// registration (Node versions where they do) only compiles twice. tsx is a
// dependency of the package, so an installed gateway loads .ts files too.

import { register } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

/** The query parameter that marks a module Hookwork imports as operator code. */
const MARK = 'hookwork-esm';

const HOOKS_SOURCE = `
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const MARK = ${JSON.stringify(MARK)};
const forced = new Set();
const typeByDir = new Map();
const bare = (url) => url.replace(/[?#].*$/s, '');
function declaredType(dir) {
  if (typeByDir.has(dir)) return typeByDir.get(dir);
  let type;
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    type = typeof manifest.type === 'string' ? manifest.type : null;
  } catch {
    const parent = dirname(dir);
    type = parent === dir ? null : declaredType(parent);
  }
  typeByDir.set(dir, type);
  return type;
}
function unmark(specifier) {
  if (!specifier.startsWith('file:')) return specifier;
  const url = new URL(specifier);
  url.searchParams.delete(MARK);
  return url.href;
}
export async function resolve(specifier, context, next) {
  const marked = specifier.startsWith('file:') && new URL(specifier).searchParams.has(MARK);
  const result = await next(marked ? unmark(specifier) : specifier, context);
  if (!marked && (context.parentURL === undefined || !forced.has(bare(context.parentURL)))) return result;
  if (!result.url.startsWith('file:')) return result;
  const url = bare(result.url);
  const path = fileURLToPath(url);
  if (/[\\\\/]node_modules[\\\\/]/.test(path)) return result;
  const ext = extname(path);
  if (ext === '.mts' || ext === '.mjs') {
    forced.add(url);
    return result;
  }
  if (ext !== '.ts' && ext !== '.js') return result;
  if (declaredType(dirname(path)) !== null) return result;
  forced.add(url);
  return { ...result, format: 'module' };
}
`;

const HOOKS_URL = `data:text/javascript,${encodeURIComponent(HOOKS_SOURCE)}`;
const TYPESCRIPT = /\.(ts|mts|cts)$/;

/** Whether a module needs the TypeScript loader. */
export function isTypeScriptFile(file: string): boolean {
  return TYPESCRIPT.test(file);
}

// Per thread (module state is per thread).
let tsxReady: Promise<void> | undefined;
let hooksRegistered = false;

function tsxAlreadyActive(): boolean {
  // Only the main thread's --import hooks reach its import()s (see above).
  return isMainThread && process.execArgv.some((arg) => arg.includes('tsx'));
}

function registerHooks(): void {
  register(HOOKS_URL);
  hooksRegistered = true;
}

async function registerTypeScript(): Promise<void> {
  let api: { register: () => unknown };
  try {
    api = (await import('tsx/esm/api')) as { register: () => unknown };
  } catch (err) {
    throw new Error(
      `TypeScript modules need tsx, which could not be loaded (${(err as Error).message}); reinstall hookwork with its dependencies, or compile the module to .js or .mjs.`,
    );
  }
  api.register();
  // Registered after tsx so it sees the marker first (hooks run newest first).
  registerHooks();
}

async function prepare(file: string): Promise<void> {
  if (isTypeScriptFile(file) && !tsxAlreadyActive()) {
    tsxReady ??= registerTypeScript();
    try {
      await tsxReady;
    } catch (err) {
      tsxReady = undefined;
      throw err;
    }
  }
  if (!hooksRegistered) registerHooks();
}

/**
 * The URL Hookwork imports an operator module by: the file's URL with the
 * marker (and `extra` query parameters, e.g. a content hash).
 */
export function operatorModuleUrl(file: string, extra: Readonly<Record<string, string>> = {}): string {
  const url = pathToFileURL(file);
  for (const [key, value] of Object.entries(extra)) url.searchParams.set(key, value);
  // CommonJS files keep Node's own loading (the marker would only be noise).
  if (extname(file) !== '.cjs' && extname(file) !== '.cts') url.searchParams.set(MARK, '');
  return url.href;
}

/**
 * Imports a plugin or extension module by path: ESM for .ts/.mts/.js/.mjs
 * wherever the file lives, CommonJS for .cjs/.cts, TypeScript through tsx.
 */
export function importOperatorModule(file: string, extra?: Readonly<Record<string, string>>): Promise<Record<string, unknown>> {
  return importOperatorUrl(operatorModuleUrl(file, extra));
}

/** Imports a URL made by operatorModuleUrl() (worker threads get the URL). */
export async function importOperatorUrl(url: string): Promise<Record<string, unknown>> {
  await prepare(new URL(url).pathname);
  return (await import(url)) as Record<string, unknown>;
}
