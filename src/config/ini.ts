// The SFTPPlus INI form (seed 000): `[event-handlers/<uuid>]` sections become
// `handlers` entries, other `[name]` sections top-level sections, and each
// string is typed by what the config schema wants at its place (`yes`/`no`
// for booleans, numbers, comma-separated lists for arrays). Anything else is
// passed through for the schema to judge.

import { decode } from 'ini';
import type { ConfigProblem } from '../errors.js';
import { elementOf, kindOf, schemaAt, type ValueKind } from './load-schema-walk.js';
import { configSchema } from './schema.js';

/** `[<prefix>/<id>]` sections: which top-level list they fill and which field takes the id. */
const LIST_SECTIONS: Readonly<Record<string, { key: string; idField: string }>> = {
  'event-handlers': { key: 'handlers', idField: 'uuid' },
  handlers: { key: 'handlers', idField: 'uuid' },
  events: { key: 'events', idField: 'id' },
  webhooks: { key: 'webhooks', idField: 'name' },
};

/**
 * Keys that are lists in SFTPPlus's INI even where the schema does not (yet)
 * say so, e.g. filters of a handler type whose schema is still being built.
 */
const KNOWN_LIST_KEYS = new Set(['target_events', 'ignored_events', 'target_groups', 'groups', 'execute_sync']);

const TRUE_WORDS = new Set(['yes', 'true', 'on', '1']);
const FALSE_WORDS = new Set(['no', 'false', 'off', '0']);

export interface IniResult {
  value: Record<string, unknown>;
  problems: ConfigProblem[];
}

function coerceScalar(raw: unknown, kind: ValueKind): unknown {
  // ini turns "true"/"false"/"null" into values; a string key wants its text back.
  if (kind === 'string' && (typeof raw === 'boolean' || raw === null)) return String(raw);
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  if (kind === 'boolean') {
    const lower = text.toLowerCase();
    if (TRUE_WORDS.has(lower)) return true;
    if (FALSE_WORDS.has(lower)) return false;
    return raw;
  }
  if (kind === 'number') return text !== '' && Number.isFinite(Number(text)) ? Number(text) : raw;
  return raw;
}

/** Types every member of `section` (the object at `path`) against the schema. */
function coerceSection(section: Record<string, unknown>, path: readonly (string | number)[], root: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(section)) {
    const schema = schemaAt(configSchema, [...path, key], root);
    const kind = kindOf(schema);
    if (kind === 'array' || (kind === 'other' && KNOWN_LIST_KEYS.has(key))) {
      const elementKind = kindOf(elementOf(schema));
      const items = Array.isArray(raw)
        ? raw
        : typeof raw === 'string'
          ? raw.split(',').map((item) => item.trim()).filter((item) => item !== '')
          : [raw];
      out[key] = items.map((item, index) =>
        item !== null && typeof item === 'object' && !Array.isArray(item)
          ? coerceSection(item as Record<string, unknown>, [...path, key, index], root)
          : coerceScalar(item, elementKind),
      );
    } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      out[key] = coerceSection(raw as Record<string, unknown>, [...path, key], root);
    } else {
      out[key] = coerceScalar(raw, kind);
    }
  }
  return out;
}

/** Turns an INI text into the config's object form; problems are keyed by section. */
export function iniToConfig(text: string): IniResult {
  const parsed = decode(text) as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  const shaped: Record<string, unknown> = {};
  const lists = new Map<string, Record<string, unknown>[]>();

  for (const [name, value] of Object.entries(parsed)) {
    const isSection = value !== null && typeof value === 'object' && !Array.isArray(value);
    const slash = name.indexOf('/');
    if (!isSection || slash === -1) {
      shaped[name] = value;
      continue;
    }
    const prefix = name.slice(0, slash);
    const id = name.slice(slash + 1);
    const body = { ...(value as Record<string, unknown>) };
    const list = LIST_SECTIONS[prefix];
    if (list !== undefined) {
      const entries = lists.get(list.key) ?? [];
      entries.push({ [list.idField]: id, ...body });
      lists.set(list.key, entries);
      continue;
    }
    if (kindOf(schemaAt(configSchema, [prefix])) === 'record') {
      const record = (shaped[prefix] ??= {}) as Record<string, unknown>;
      record[id] = body;
      continue;
    }
    problems.push({
      key: `[${name}]`,
      message: `unknown section form; use [event-handlers/<uuid>], [events/<id>], [webhooks/<name>], [gates/<name>], [changes/<name>] or a plain [section]`,
    });
  }
  for (const [key, entries] of lists) {
    const existing = shaped[key];
    shaped[key] = Array.isArray(existing) ? [...existing, ...entries] : entries;
  }
  return { value: coerceSection(shaped, [], shaped), problems };
}
