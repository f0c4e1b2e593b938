// How the admin API shows deliveries' attempts and pages: each attempt with
// its record's fields and the console's snake_case names for the request and
// response as sent; the keyset cursor of a page of deliveries.

import { InvalidArgumentError } from '../errors.js';
import type { ListPosition } from './store.js';
import type { AttemptRecord } from './types.js';

/** An attempt as GET /v1/deliveries/:id shows it. */
export function attemptView(a: AttemptRecord): Record<string, unknown> {
  return {
    ...a,
    started_at: new Date(a.startedAt).toISOString(),
    duration_ms: a.durationMs,
    http_status: a.httpStatus ?? null,
    error: a.error ?? null,
    request_headers: a.requestHeaders ?? null,
    request_body: a.requestBody ?? null,
    request_body_is_event: a.requestBodyIsEvent === true,
    response_headers: a.responseHeaders ?? null,
    response_body: a.response ?? null,
  };
}

/** The prefix that marks a cursor (so a cursor of another API is refused, not misread). */
const CURSOR_PREFIX = 'c1.';

/** The cursor after a page: the last delivery's place in list order (creation time, id). */
export function encodeCursor(last: ListPosition): string {
  return CURSOR_PREFIX + Buffer.from(`${last.createdAt}.${last.id}`, 'utf8').toString('base64url');
}

/** The place a cursor names; a cursor that is not one of ours is a 400. */
export function decodeCursor(cursor: string): ListPosition {
  const text = cursor.startsWith(CURSOR_PREFIX) ? Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString('utf8') : '';
  const match = /^(\d{1,16})\.([\x21-\x7e]{1,200})$/.exec(text);
  if (match === null) throw new InvalidArgumentError(`"cursor" is not a cursor this API gave: pass the "next_cursor" of the previous page as is.`);
  return { createdAt: Number(match[1]), id: match[2] as string };
}
