// Context variables: dotted paths looked up case-insensitively
// (`account.peer.address`, `DATA.PATH`), as SFTPPlus documents them.
// Secrets (`account.token`) resolve only when the caller is granted them.

/** Returned by lookup when a path does not resolve. */
export const MISSING: unique symbol = Symbol('hookwork.missing');

/** Paths that hold secrets; stored non-enumerable so JSON, logs and clones skip them. */
export const SECRET_PATHS: ReadonlySet<string> = new Set(['account.token']);

export interface LookupOptions {
  /** Secret paths this caller may read (e.g. a target granted `account.token`). */
  readonly grants?: ReadonlySet<string> | undefined;
}

const splitCache = new Map<string, readonly string[]>();

function splitPath(path: string): readonly string[] {
  let parts = splitCache.get(path);
  if (parts === undefined) {
    parts = path.split('.');
    if (splitCache.size < 10_000) splitCache.set(path, parts);
  }
  return parts;
}

function childOf(node: unknown, key: string): unknown {
  if (node === null || (typeof node !== 'object' && typeof node !== 'function')) return MISSING;
  const record = node as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(record, key)) return record[key];
  if (Array.isArray(node) && /^\d+$/.test(key)) return key in node ? node[Number(key)] : MISSING;
  const wanted = key.toLowerCase();
  for (const candidate of Object.keys(record)) {
    if (candidate.toLowerCase() === wanted) return record[candidate];
  }
  // Non-enumerable members (secrets) are reachable only by their exact lower-case name.
  if (Object.prototype.hasOwnProperty.call(record, wanted)) return record[wanted];
  return MISSING;
}

function isSecretPath(path: string): boolean {
  return SECRET_PATHS.has(path.toLowerCase());
}

/**
 * Looks a dotted path up in `root`, case-insensitively at every level.
 * Returns MISSING when any segment is absent, or when the path is a secret
 * the caller was not granted.
 */
export function lookup(root: unknown, path: string, options?: LookupOptions): unknown {
  if (isSecretPath(path) && options?.grants?.has(path.toLowerCase()) !== true) return MISSING;
  let node: unknown = root;
  for (const part of splitPath(path)) {
    node = childOf(node, part);
    if (node === MISSING) return MISSING;
  }
  return node;
}

/** Looks a path up in several roots in turn (extras first, then the event). */
export function lookupIn(roots: readonly unknown[], path: string, options?: LookupOptions): unknown {
  for (const root of roots) {
    const value = lookup(root, path, options);
    if (value !== MISSING) return value;
  }
  return MISSING;
}
