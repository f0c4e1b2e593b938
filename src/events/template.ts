// One template engine for messages, commands and webhooks: `{{ name }}`
// placeholders over the event context, with Magpie's typing rules:
//   "{{x}}"    (exactly one placeholder)  -> the value, type kept
//   "'{{x}}'"  (quoted placeholder)       -> a non-string value as a string
//                                          (a string value keeps its quotes;
//                                          `"{{x}}"` works the same way)
//   "a {{x}} b"                           -> string interpolation
// Nested objects and arrays are walked (keys too); unknown placeholders stay
// literal so that a typo is visible in what the receiver gets, and are reported
// when a config is validated.

import { MISSING, lookupIn, type LookupOptions } from './context.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_$.-]+)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z0-9_$.-]+)\s*\}\}$/;
const QUOTED = /^(['"])\{\{\s*([A-Za-z0-9_$.-]+)\s*\}\}\1$/;

/**
 * A placeholder inside a string. `quote` is set when the whole string is the
 * placeholder in quotes: Magpie drops the quotes only to stringify a
 * non-string value, and keeps them around a string.
 */
type Part = string | { readonly path: string; readonly raw: string; readonly quote?: string };

type Node =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'typed'; readonly path: string; readonly raw: string }
  | { readonly kind: 'string'; readonly parts: readonly Part[] }
  | { readonly kind: 'array'; readonly items: readonly Node[] }
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [Node, Node]> };

/** A template compiled once (at config load) and rendered per event. */
export interface Template<T = unknown> {
  /** Every placeholder path used, in order of appearance, without duplicates. */
  readonly placeholders: readonly string[];
  /** True when the template has no placeholder at all. */
  readonly isStatic: boolean;
  render(roots: readonly unknown[], options?: LookupOptions): T;
}

function compileString(source: string, found: Set<string>): Node {
  const whole = WHOLE.exec(source);
  if (whole !== null) {
    const path = whole[1] as string;
    found.add(path);
    return { kind: 'typed', path, raw: source };
  }
  const quoted = QUOTED.exec(source);
  if (quoted !== null) {
    const quote = quoted[1] as string;
    const path = quoted[2] as string;
    found.add(path);
    return { kind: 'string', parts: [{ path, raw: source, quote }] };
  }
  const parts: Part[] = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const index = match.index;
    if (index > last) parts.push(source.slice(last, index));
    const path = match[1] as string;
    found.add(path);
    parts.push({ path, raw: match[0] });
    last = index + match[0].length;
  }
  if (parts.length === 0) return { kind: 'literal', value: source };
  if (last < source.length) parts.push(source.slice(last));
  return { kind: 'string', parts };
}

function compileNode(value: unknown, found: Set<string>): Node {
  if (typeof value === 'string') return compileString(value, found);
  if (Array.isArray(value)) return { kind: 'array', items: value.map((item) => compileNode(item, found)) };
  if (value !== null && typeof value === 'object') {
    return {
      kind: 'object',
      entries: Object.entries(value).map(([k, v]) => [compileString(k, found), compileNode(v, found)] as const),
    };
  }
  return { kind: 'literal', value };
}

/** How a value reads inside a string: objects as JSON, null and undefined as empty. */
export function stringify(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function renderString(parts: readonly Part[], roots: readonly unknown[], options?: LookupOptions): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = lookupIn(roots, part.path, options);
    if (value === MISSING) out += part.raw;
    else if (part.quote !== undefined && typeof value === 'string') out += part.quote + value + part.quote;
    else out += stringify(value);
  }
  return out;
}

function renderNode(node: Node, roots: readonly unknown[], options?: LookupOptions): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'typed': {
      const value = lookupIn(roots, node.path, options);
      return value === MISSING ? node.raw : value;
    }
    case 'string':
      return renderString(node.parts, roots, options);
    case 'array':
      return node.items.map((item) => renderNode(item, roots, options));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, value] of node.entries) {
        out[stringify(renderNode(key, roots, options))] = renderNode(value, roots, options);
      }
      return out;
    }
  }
}

/** Compiles any JSON-like value (string, object, array) into a template. */
export function compileTemplate<T = unknown>(source: unknown): Template<T> {
  const found = new Set<string>();
  const root = compileNode(source, found);
  const placeholders = [...found];
  return {
    placeholders,
    isStatic: placeholders.length === 0,
    render(roots, options) {
      return renderNode(root, roots, options) as T;
    },
  };
}

/** Compiles a string template that always renders to a string (messages, arguments, headers). */
export function compileStringTemplate(source: string): Template<string> {
  const found = new Set<string>();
  const node = compileString(source, found);
  const parts: readonly Part[] =
    node.kind === 'string' ? node.parts : node.kind === 'typed' ? [{ path: node.path, raw: node.raw }] : [source];
  return {
    placeholders: [...found],
    isStatic: found.size === 0,
    render(roots, options) {
      return renderString(parts, roots, options);
    },
  };
}

/** Renders once without keeping the compiled form. */
export function renderTemplate(source: unknown, roots: readonly unknown[], options?: LookupOptions): unknown {
  return compileTemplate(source).render(roots, options);
}

/**
 * The context variables every event offers, for validating placeholders in a
 * config. `data.*` accepts any member; extra roots (e.g. `callback_url`,
 * `handler.name`, `output.*`) are passed by the caller.
 */
export const EVENT_CONTEXT_VARIABLES: readonly string[] = [
  'id', 'uuid', 'name', 'message', 'groups',
  'account', 'account.uuid', 'account.name', 'account.email', 'account.emails', 'account.groups', 'account.role', 'account.token',
  'account.peer', 'account.peer.address', 'account.peer.port', 'account.peer.protocol', 'account.peer.family',
  'component', 'component.uuid', 'component.name', 'component.type',
  'server', 'server.uuid', 'server.name',
  'timestamp', 'timestamp.timestamp', 'timestamp.cwa_14051', 'timestamp.iso_8601', 'timestamp.iso_8601_fractional',
  'timestamp.iso_8601_local', 'timestamp.iso_8601_basic', 'timestamp.iso_8601_compact',
  'timestamp.year', 'timestamp.month', 'timestamp.day', 'timestamp.hour', 'timestamp.minute', 'timestamp.second',
  'timestamp.millisecond',
  'data', 'data_json',
];

/**
 * Returns the placeholders that name no known variable. `known` holds exact
 * paths; `prefixes` roots under which any member is accepted (`data`).
 */
export function unknownPlaceholders(
  placeholders: readonly string[],
  known: Iterable<string> = EVENT_CONTEXT_VARIABLES,
  prefixes: readonly string[] = ['data'],
): string[] {
  const exact = new Set<string>();
  for (const k of known) exact.add(k.toLowerCase());
  return placeholders.filter((p) => {
    const lower = p.toLowerCase();
    if (exact.has(lower)) return false;
    return !prefixes.some((prefix) => lower.startsWith(`${prefix.toLowerCase()}.`));
  });
}
