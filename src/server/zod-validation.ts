// Request validation with zod (the project's one schema library): a route
// sets `validatorCompiler: zodValidatorCompiler` and gives zod schemas for its
// body and params. No type coercion happens, unknown keys are refused
// (strictObject), and every problem lands in one InvalidInputError whose
// per-field map names the field: `{"body.id": "is required"}`.

import type { FastifySchema, FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { InvalidArgumentError, InvalidInputError } from '../errors.js';

type Issue = z.core.$ZodIssue;

function problemOf(issue: Issue): string {
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return 'is required';
  // fastify passes a missing body as null.
  if (issue.code === 'invalid_type' && issue.path.length === 0 && issue.message.endsWith('received null')) return 'is required';
  if (issue.code === 'unrecognized_keys') return 'is not a known field';
  return issue.message.replace(/^Invalid input: /, '');
}

/** The per-field map of a failed parse; `part` is `body`, `params`, `querystring` or `headers`. */
export function fieldsOf(issues: readonly Issue[], part: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const add = (field: string, problem: string): void => {
    fields[field] = fields[field] === undefined ? problem : `${fields[field]}; ${problem}`;
  };
  for (const issue of issues) {
    const base = [part, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add(`${base}.${key}`, 'is not a known field');
    } else {
      add(base, problemOf(issue));
    }
  }
  return fields;
}

export function invalidRequest(issues: readonly Issue[], part: string): InvalidInputError {
  const fields = fieldsOf(issues, part);
  const summary = Object.entries(fields)
    .map(([field, problem]) => `${field} ${problem}`)
    .join('; ');
  return new InvalidInputError(fields, `Invalid request ${part}: ${summary}.`);
}

/** A fastify validatorCompiler for routes whose schemas are zod schemas. */
export const zodValidatorCompiler: FastifySchemaCompiler<FastifySchema> = (route) => {
  const part = route.httpPart ?? 'body';
  const schema = route.schema as unknown as z.ZodType;
  if (typeof schema?.safeParse !== 'function') {
    throw new InvalidArgumentError(`The ${part} schema of ${route.method} ${route.url} is not a zod schema.`);
  }
  return (data: unknown) => {
    const parsed = schema.safeParse(data);
    return parsed.success ? { value: parsed.data } : { error: invalidRequest(parsed.error.issues, part) };
  };
};
