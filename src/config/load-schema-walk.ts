// Finds the zod schema that governs a path of the config, so the loader can
// type INI strings (`yes` -> true for a boolean key, `a, b` -> a list for an
// array key) and name the allowed keys when one is unknown. It reads zod's
// public `_zod.def` data; anything it does not understand yields undefined.

import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  options?: readonly AnySchema[];
  discriminator?: string;
  values?: readonly unknown[];
}

function defOf(schema: AnySchema): Def {
  return schema._zod.def as unknown as Def;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** Strips defaults, optionals and pipes down to the schema that checks the value. */
export function unwrapSchema(schema: AnySchema): AnySchema {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else break;
  }
  return current;
}

/** For a discriminated union, the option whose discriminator literal matches the value. */
function pickOption(def: Def, value: unknown): AnySchema | undefined {
  if (def.discriminator === undefined || def.options === undefined) return undefined;
  const wanted = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[def.discriminator] : undefined;
  for (const option of def.options) {
    const shape = defOf(unwrapSchema(option)).shape;
    const literal = shape?.[def.discriminator];
    if (literal === undefined) continue;
    const values = defOf(unwrapSchema(literal)).values;
    if (values?.includes(wanted) === true) return option;
  }
  return undefined;
}

/**
 * The schema at `path` below `schema`; `value` is the data at the same place
 * (used to choose a discriminated union's option). Undefined when unknown.
 */
export function schemaAt(schema: AnySchema, path: readonly (string | number)[], value?: unknown): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  let node: unknown = value;
  for (const segment of path) {
    if (current === undefined) return undefined;
    let def = defOf(unwrapSchema(current));
    if (def.type === 'union') {
      const option = pickOption(def, node);
      if (option === undefined) return undefined;
      def = defOf(unwrapSchema(option));
    }
    if (def.type === 'object') current = def.shape?.[String(segment)];
    else if (def.type === 'array') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else return undefined;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment as string] : undefined;
  }
  return current;
}

export type ValueKind = 'boolean' | 'number' | 'string' | 'array' | 'object' | 'record' | 'other';

/** What kind of value a schema wants, after unwrapping. */
export function kindOf(schema: AnySchema | undefined): ValueKind {
  if (schema === undefined) return 'other';
  const def = defOf(unwrapSchema(schema));
  switch (def.type) {
    case 'boolean':
    case 'number':
    case 'string':
    case 'array':
    case 'object':
    case 'record':
      return def.type;
    case 'int':
    case 'bigint':
      return 'number';
    case 'enum':
    case 'literal':
      return def.values?.every((v) => typeof v === 'string') === true ? 'string' : 'other';
    case 'union':
      return def.discriminator !== undefined ? 'object' : 'other';
    default:
      return 'other';
  }
}

/** The element schema of an array schema. */
export function elementOf(schema: AnySchema | undefined): AnySchema | undefined {
  if (schema === undefined) return undefined;
  const def = defOf(unwrapSchema(schema));
  return def.type === 'array' ? def.element : undefined;
}

/** The keys an object schema allows (for "unknown key" hints). */
export function allowedKeys(schema: AnySchema | undefined, value?: unknown): string[] | undefined {
  if (schema === undefined) return undefined;
  let def = defOf(unwrapSchema(schema));
  if (def.type === 'union') {
    const option = pickOption(def, value);
    if (option === undefined) return undefined;
    def = defOf(unwrapSchema(option));
  }
  return def.type === 'object' && def.shape !== undefined ? Object.keys(def.shape) : undefined;
}
