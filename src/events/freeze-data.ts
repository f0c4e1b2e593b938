// The deep freeze of an event's data: a JSON-shaped copy nobody can change,
// with the members derived from paths (file_name, directory_name…).

import { posix, win32 } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** A value in `data` that JSON cannot carry faithfully; `path` is filled in while unwinding. */
class NotJsonShaped {
  readonly problem: string;
  readonly path: Array<string | number> = [];
  constructor(problem: string) {
    this.problem = problem;
  }
}

const MAX_DATA_DEPTH = 200;

/** What a non-plain object is, for the error message, with a hint to convert it. */
function describeObject(value: object): string {
  if (value instanceof Map) return 'is a Map (convert it first, e.g. Object.fromEntries(map))';
  if (value instanceof Set) return 'is a Set (convert it first, e.g. [...set])';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `is binary data (${value.constructor.name}); encode it first, e.g. as a base64 string`;
  }
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return `is an instance of ${typeof name === 'string' && name !== '' ? name : 'a class'} (pass a plain object with its fields instead)`;
}

function copyData(value: unknown, depth: number, derive = false): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new NotJsonShaped(`is ${String(value)}, which JSON cannot hold`);
    case 'object':
      break;
    case 'bigint':
      throw new NotJsonShaped('is a bigint (pass a number or a string)');
    default:
      throw new NotJsonShaped(`is a ${typeof value}`);
  }
  if (value === null) return null;
  if (depth >= MAX_DATA_DEPTH) throw new NotJsonShaped(`is nested more than ${MAX_DATA_DEPTH} levels deep (a circular reference?)`);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    let i = 0;
    try {
      for (; i < value.length; i++) out[i] = copyData(value[i], depth + 1);
    } catch (err) {
      if (err instanceof NotJsonShaped) err.path.unshift(i);
      throw err;
    }
    return Object.freeze(out);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw new NotJsonShaped('is an invalid Date');
      return value.toISOString();
    }
    throw new NotJsonShaped(describeObject(value));
  }
  return copyObject(value as Record<string, unknown>, depth, derive);
}

function copyObject(value: Record<string, unknown>, depth: number, derive: boolean): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  let key = '';
  try {
    for (let i = 0; i < keys.length; i++) {
      key = keys[i] as string;
      const copy = copyData(value[key], depth + 1);
      // An own "__proto__" member (JSON.parse makes them) stays a member, not the copy's prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
      else out[key] = copy;
    }
  } catch (err) {
    if (err instanceof NotJsonShaped) err.path.unshift(key);
    throw err;
  }
  if (derive) addDerivedMembers(out);
  return Object.freeze(out);
}

/**
 * Deep-copies JSON-shaped data and freezes the copy, so no caller can change
 * an emitted event. Plain objects (or null-prototype ones), arrays, strings,
 * finite numbers, booleans and null are kept; a Date becomes its ISO string.
 * Anything else (a Map, Set, class instance, buffer, function, bigint, NaN…)
 * would not survive JSON, so it is refused with InvalidArgumentError naming
 * its path (`data.files.0.meta`).
 */
export function freezeData(value: unknown, options?: { deriveMembers?: boolean }): unknown {
  try {
    return copyData(value, 0, options?.deriveMembers === true);
  } catch (err) {
    if (!(err instanceof NotJsonShaped)) throw err;
    const path = err.path.length > 12 ? [...err.path.slice(0, 12), '…'] : err.path;
    throw new InvalidArgumentError(
      `Event data member "${['data', ...path].join('.')}" ${err.problem}. Event data must be JSON-shaped: plain objects, arrays, strings, finite numbers, booleans and null (a Date becomes its ISO string).`,
    );
  }
}

function splitPath(path: string): { file: string; directory: string } {
  const flavour = path.includes('\\') && !path.includes('/') ? win32 : posix;
  return { file: flavour.basename(path), directory: flavour.dirname(path) };
}

/** Adds `file_name`/`directory_name` (and `real_…`) where `path`/`real_path` are present, on a copy being built. */
function addDerivedMembers(out: Record<string, unknown>): void {
  const path = out['path'];
  const realPath = out['real_path'];
  if (typeof path === 'string' && path !== '') {
    const { file, directory } = splitPath(path);
    if (out['file_name'] === undefined) out['file_name'] = file;
    if (out['directory_name'] === undefined) out['directory_name'] = directory;
  }
  if (typeof realPath === 'string' && realPath !== '') {
    const { file, directory } = splitPath(realPath);
    if (out['real_file_name'] === undefined) out['real_file_name'] = file;
    if (out['real_directory_name'] === undefined) out['real_directory_name'] = directory;
  }
}
