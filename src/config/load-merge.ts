// Merges the files of a config folder into one object and remembers which
// file gave each part, and where in that file, so a problem found later at
// `handlers.3.url` can be blamed on the file that contributed handlers[3],
// at its own position there (`handlers.1.url` when that file's first entry
// came third). Arrays are concatenated, objects merged key by key; a scalar
// set by two files is a problem that names both.

import type { ConfigProblem } from '../errors.js';

export interface ConfigSource {
  /** The file the value came from. */
  file: string;
  value: Record<string, unknown>;
}

export interface MergedConfig {
  value: Record<string, unknown>;
  /** Dotted path -> the file that set it (the most specific path wins on lookup). */
  origins: ReadonlyMap<string, string>;
  /**
   * Dotted path of a list entry that moved when lists were concatenated ->
   * its path in its own file (`handlers.3` -> `handlers.1`).
   */
  localPaths: ReadonlyMap<string, string>;
  problems: ConfigProblem[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a section';
  return 'a value';
}

/** Records `file` as the origin of `path` and of everything below it. */
function claim(value: unknown, path: string, file: string, origins: Map<string, string>): void {
  origins.set(path, file);
  if (Array.isArray(value)) value.forEach((item, i) => claim(item, join(path, i), file, origins));
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) claim(v, join(path, k), file, origins);
}

function mergeInto(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
  path: string,
  file: string,
  origins: Map<string, string>,
  localPaths: Map<string, string>,
  problems: ConfigProblem[],
): void {
  for (const [key, incoming] of Object.entries(source)) {
    const at = join(path, key);
    if (!Object.prototype.hasOwnProperty.call(target, key)) {
      target[key] = incoming;
      claim(incoming, at, file, origins);
      continue;
    }
    const existing = target[key];
    if (Array.isArray(existing) && Array.isArray(incoming)) {
      const offset = existing.length;
      target[key] = [...existing, ...incoming];
      incoming.forEach((item, i) => {
        claim(item, join(at, offset + i), file, origins);
        // Sections above a list are never shifted, so the list is at `at` in this file too.
        if (offset > 0) localPaths.set(join(at, offset + i), join(at, i));
      });
    } else if (isPlainObject(existing) && isPlainObject(incoming)) {
      const copy = { ...existing };
      target[key] = copy;
      mergeInto(copy, incoming, at, file, origins, localPaths, problems);
    } else {
      const first = origins.get(at) ?? 'another file';
      const same = describe(existing) === describe(incoming);
      problems.push({
        file,
        key: at,
        message: same
          ? `is also set in ${first}; a value may be set in one file of a config folder only (lists are concatenated and sections merged, values are not)`
          : `is ${describe(incoming)} here but ${describe(existing)} in ${first}; make them the same kind`,
      });
    }
  }
}

/** Merges sources in order. */
export function mergeSources(sources: readonly ConfigSource[]): MergedConfig {
  const value: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  const localPaths = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (const source of sources) mergeInto(value, source.value, '', source.file, origins, localPaths, problems);
  return { value, origins, localPaths, problems };
}

/** The file that contributed `path` (or its nearest ancestor), if any. */
export function originOf(origins: ReadonlyMap<string, string>, path: readonly PropertyKey[]): string | undefined {
  for (let length = path.length; length > 0; length--) {
    const file = origins.get(path.slice(0, length).map(String).join('.'));
    if (file !== undefined) return file;
  }
  return undefined;
}

/** The dotted key of merged `path` in the file that contributed it (`handlers.3.url` -> `handlers.1.url`). */
export function localPathOf(localPaths: ReadonlyMap<string, string>, path: readonly PropertyKey[]): string {
  const parts = path.map(String);
  for (let length = parts.length; length > 0; length--) {
    const local = localPaths.get(parts.slice(0, length).join('.'));
    if (local !== undefined) return [local, ...parts.slice(length)].join('.');
  }
  return parts.join('.');
}

/** `file: key` for merged `path`, the key as the file's own position; for messages naming another place. */
export function placeOf(merged: Pick<MergedConfig, 'origins' | 'localPaths'>, path: readonly PropertyKey[]): string {
  const file = originOf(merged.origins, path);
  const key = localPathOf(merged.localPaths, path);
  return `${file === undefined ? '' : `${file}: `}${key === '' ? '(root)' : key}`;
}
