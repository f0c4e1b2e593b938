// The gateway's one JSON body parser, for every route (plugin routes too). It
// replaces fastify's so that, before any handler (or validator) sees a body:
// - nesting deeper than server.json_max_depth is refused (400
//   HKW_ERR_JSON_TOO_DEEP): validators, handlers and replies walk bodies
//   recursively, and 10,000 levels overflow the stack there (a 500);
// - keys that could change a prototype are refused with a code and message
//   that say so (400 HKW_ERR_PROTO_POISONING), not "not valid JSON".
// Both checks are loops, never recursion, so no body can overflow them.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidJsonBodyError, JsonProtoPoisoningError, JsonTooDeepError } from '../errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * True when the text opens more than `max` arrays/objects at once. Brackets
 * inside strings do not count. Stops at the first level too deep, so a huge
 * hostile body costs at most one pass and builds nothing. For text that is
 * not JSON the answer does not matter: JSON.parse refuses it next.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // No text of this length can nest that deep (each level needs one opening character).
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

// A key spelled with JSON escapes (\u005f_proto__) needs a backslash in the text.
const MAY_POISON = /__proto__|constructor|\\u/;

/**
 * The path of the first key that could change a prototype: an own
 * `__proto__` key (JSON.parse keeps it as a plain property, but a later
 * spread or merge would use it as the prototype), or `constructor` holding an
 * object with `prototype`. Iterative: `value` was already depth-checked, but
 * no recursion is needed either.
 */
export function poisonedKeyOf(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: 'body' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop() as { value: unknown; path: string };
    if (typeof current !== 'object' || current === null) continue;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push({ value: current[i], path: `${path}.${i}` });
      continue;
    }
    for (const key of Object.keys(current)) {
      const child = (current as Record<string, unknown>)[key];
      if (key === '__proto__') return `${path}.__proto__`;
      if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
        return `${path}.constructor.prototype`;
      }
      stack.push({ value: child, path: `${path}.${key}` });
    }
  }
  return undefined;
}

/** Parses a JSON request body with the checks above; throws the error the reply should carry. */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.length === 0) {
    throw new InvalidJsonBodyError('FST_ERR_CTP_EMPTY_JSON_BODY', "Body cannot be empty when content-type is set to 'application/json'.");
  }
  if (nestsDeeperThan(text, maxDepth)) throw new JsonTooDeepError(maxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8's message says where ("at position 12"); it may quote a little of the body, which is the caller's own.
    throw new InvalidJsonBodyError('FST_ERR_CTP_INVALID_JSON_BODY', `Body is not valid JSON: ${(err as Error).message}`);
  }
  if (MAY_POISON.test(text)) {
    const where = poisonedKeyOf(value);
    if (where !== undefined) throw new JsonProtoPoisoningError(where);
  }
  return value;
}

/** Makes parseJsonBody the parser of `application/json` bodies on every route of `app`. */
export function useJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request: FastifyRequest, body: string | Buffer, done) => {
    let value: unknown;
    try {
      value = parseJsonBody(typeof body === 'string' ? body : body.toString('utf8'), maxDepth);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    done(null, value);
  });
}
