// Handler conditions (SFTPGo Event Manager's conditions, declaratively):
// comparisons on any event field, sets, negation and `all`/`any`. A
// conditions object is one rule: every key must hold. A key is a field
// (`file_size`, `account.groups`) with an object of operators, or one of the
// combinators `all`, `any`, `not`. Compiled once into closures: an event is
// matched with lookups and comparisons only, no parsing.

import { MISSING, lookup } from './context.js';
import type { HookworkEvent } from './envelope.js';

type Predicate = (event: HookworkEvent) => boolean;
type Scalar = string | number | boolean;

/** The comparison operators a field condition may use. */
export const CONDITION_OPERATORS = ['gt', 'gte', 'lt', 'lte', 'eq', 'ne', 'in', 'not_in', 'exists'] as const;
const NUMERIC: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte']);

/** One problem of a conditions object: its path under `conditions` and what is wrong. */
export interface ConditionProblem {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/** A field named by a condition, with where it is written (for schema warnings). */
export interface ConditionField {
  readonly field: string;
  readonly path: ReadonlyArray<string | number>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

const describe = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Every problem of a conditions object as written (empty when it compiles). */
export function conditionProblems(value: unknown, path: ReadonlyArray<string | number> = []): ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  walk(value, path, problems, undefined);
  return problems;
}

/** The fields the conditions compare (combinators unwrapped), for the data-schema check. */
export function conditionFields(value: unknown, path: ReadonlyArray<string | number> = []): ConditionField[] {
  const fields: ConditionField[] = [];
  walk(value, path, [], fields);
  return fields;
}

function walk(value: unknown, path: ReadonlyArray<string | number>, problems: ConditionProblem[], fields: ConditionField[] | undefined): void {
  if (!isPlainObject(value)) {
    problems.push({ path, message: `conditions must be an object of fields (e.g. { file_size: { gt: 1048576 } }), got ${describe(value)}` });
    return;
  }
  if (Object.keys(value).length === 0) problems.push({ path, message: 'an empty condition matches everything; remove it or name a field' });
  for (const [key, inner] of Object.entries(value)) {
    const here = [...path, key];
    if (key === 'not') {
      walk(inner, here, problems, fields);
    } else if (key === 'all' || key === 'any') {
      if (!Array.isArray(inner) || inner.length === 0) {
        problems.push({ path: here, message: `"${key}" takes a non-empty list of conditions, got ${describe(inner)}` });
        continue;
      }
      inner.forEach((item, i) => walk(item, [...here, i], problems, fields));
    } else {
      fields?.push({ field: key, path: here });
      fieldProblems(key, inner, here, problems);
    }
  }
}

function fieldProblems(field: string, ops: unknown, path: ReadonlyArray<string | number>, problems: ConditionProblem[]): void {
  if (!isPlainObject(ops)) {
    problems.push({ path, message: `a condition on "${field}" is an object of operators (${CONDITION_OPERATORS.join(', ')}), e.g. { eq: ${describe(ops)} }` });
    return;
  }
  if (Object.keys(ops).length === 0) problems.push({ path, message: `the condition on "${field}" has no operator; use one of ${CONDITION_OPERATORS.join(', ')}` });
  for (const [op, operand] of Object.entries(ops)) {
    const here = [...path, op];
    if (!(CONDITION_OPERATORS as readonly string[]).includes(op)) {
      problems.push({ path: here, message: `unknown operator "${op}" on "${field}"; use one of ${CONDITION_OPERATORS.join(', ')}` });
    } else if (NUMERIC.has(op)) {
      if (typeof operand !== 'number' || !Number.isFinite(operand)) problems.push({ path: here, message: `"${op}" compares numbers; got ${describe(operand)} (write a number, e.g. ${op}: 1048576)` });
    } else if (op === 'eq' || op === 'ne') {
      if (!isScalar(operand)) problems.push({ path: here, message: `"${op}" takes a string, number or boolean; got ${describe(operand)}` });
    } else if (op === 'exists') {
      if (typeof operand !== 'boolean') problems.push({ path: here, message: `"exists" takes true or false; got ${describe(operand)}` });
    } else if (!Array.isArray(operand) || operand.length === 0) {
      problems.push({ path: here, message: `"${op}" takes a non-empty list of values (e.g. ${op}: [SFTP, FTP]); got ${describe(operand)}` });
    } else {
      operand.forEach((item, i) => {
        if (!isScalar(item)) problems.push({ path: [...here, i], message: `"${op}" values are strings, numbers or booleans; got ${describe(item)}` });
      });
    }
  }
}

/** A value compared as a number: a number, or a string that is one (`"1024"` from a text-only host). */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Scalars are compared by a key: numbers by value, strings case-insensitively (as filters), booleans as such. */
function keyOf(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? `n:${value}` : undefined;
  if (typeof value === 'boolean') return `b:${value}`;
  if (typeof value === 'string') {
    const n = numberOf(value);
    return n === undefined ? `s:${value.toLowerCase()}` : `n:${n}`;
  }
  return undefined;
}

/** Whether `value`, or for a list any of its items, has a key in `set`. */
function anyIn(value: unknown, set: ReadonlySet<string>): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const key = keyOf(value[i]);
      if (key !== undefined && set.has(key)) return true;
    }
    return false;
  }
  const key = keyOf(value);
  return key !== undefined && set.has(key);
}

function compileOperator(op: string, operand: unknown): (value: unknown) => boolean {
  switch (op) {
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = operand as number;
      const test =
        op === 'gt' ? (n: number) => n > bound : op === 'gte' ? (n: number) => n >= bound : op === 'lt' ? (n: number) => n < bound : (n: number) => n <= bound;
      return (value) => {
        const n = numberOf(value);
        return n !== undefined && test(n);
      };
    }
    case 'eq':
    case 'ne': {
      const wanted = keyOf(operand) as string;
      const set = new Set([wanted]);
      return op === 'eq' ? (value) => anyIn(value, set) : (value) => !anyIn(value, set);
    }
    case 'in':
    case 'not_in': {
      const set = new Set((operand as unknown[]).map((item) => keyOf(item) as string));
      return op === 'in' ? (value) => anyIn(value, set) : (value) => !anyIn(value, set);
    }
    default:
      // exists: handled by the field itself (a missing field fails every other operator).
      return () => true;
  }
}

function compileField(field: string, ops: Record<string, unknown>): Predicate {
  // A bare name is a data member (`file_size` is data.file_size); a dotted path
  // that is not a data member names any event field (`account.groups`). Paths
  // are built here, not per event.
  const dataPath = `data.${field}`;
  const exists = ops['exists'];
  const tests = Object.entries(ops)
    .filter(([op]) => op !== 'exists')
    .map(([op, operand]) => compileOperator(op, operand));
  return (event) => {
    let value = lookup(event, dataPath);
    if (value === MISSING) value = lookup(event, field);
    const present = value !== MISSING && value !== undefined && value !== null;
    if (exists !== undefined && exists !== present) return false;
    // A missing field fails every comparison, `ne` and `not_in` too: conditions select on what is there.
    if (!present) return tests.length === 0;
    for (let i = 0; i < tests.length; i++) if (!(tests[i] as (v: unknown) => boolean)(value)) return false;
    return true;
  };
}

function allOf(predicates: readonly Predicate[]): Predicate {
  if (predicates.length === 1) return predicates[0] as Predicate;
  return (event) => {
    for (let i = 0; i < predicates.length; i++) if (!(predicates[i] as Predicate)(event)) return false;
    return true;
  };
}

function anyOf(predicates: readonly Predicate[]): Predicate {
  if (predicates.length === 1) return predicates[0] as Predicate;
  return (event) => {
    for (let i = 0; i < predicates.length; i++) if ((predicates[i] as Predicate)(event)) return true;
    return false;
  };
}

function compileNode(node: Record<string, unknown>): Predicate {
  const predicates: Predicate[] = [];
  for (const [key, inner] of Object.entries(node)) {
    if (key === 'not') {
      const negated = compileNode(inner as Record<string, unknown>);
      predicates.push((event) => !negated(event));
    } else if (key === 'all') predicates.push(allOf((inner as Array<Record<string, unknown>>).map(compileNode)));
    else if (key === 'any') predicates.push(anyOf((inner as Array<Record<string, unknown>>).map(compileNode)));
    else predicates.push(compileField(key, inner as Record<string, unknown>));
  }
  return allOf(predicates);
}

/**
 * Compiles a conditions object into one predicate. Throws an Error listing
 * the problems when it is not valid (the config schema reports them by key
 * before this runs).
 */
export function compileConditions(value: unknown): Predicate {
  const problems = conditionProblems(value);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path.join('.') || '(conditions)'}: ${p.message}`).join('; '));
  return compileNode(value as Record<string, unknown>);
}
