// Rows of the SQL stores (SQLite and PostgreSQL share the columns) turned
// into records, and records into rows: one mapping for both stores.

import { DROPPED_EVENT_JSON, StoredRecord, unpackEvent, type DisabledTarget, type ListFilter, type StateCounts, type TargetDepth, type TargetOpen } from './store.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState } from './types.js';

export interface DeliveryRow {
  id: string;
  target: string;
  /** The event's JSON (joined from delivery_events): text, deflated bytes, or '' / null when not kept. */
  event: string | Buffer | null;
  /** PostgreSQL: the deflated JSON, when it was compressed. */
  packed?: Buffer | null;
  webhook_id: string;
  attempts: number;
  state: DeliveryState;
  due_at: number;
  created_at: number;
  updated_at: number;
  last_error: string | null;
  trace_context?: string | null;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  ok: number;
  http_status: number | null;
  exit_code: number | null;
  response: string | null;
  error: string | null;
  detail: string | null;
  request_headers?: string | null;
  request_body?: string | null;
  response_headers?: string | null;
}

/** Builds a record from a row; `claimed` rows report the attempts made before this claim and parse their event lazily. */
export function deliveryFromRow(row: DeliveryRow, claimed = false): DeliveryRecord {
  const json = unpackEvent(row.packed ?? row.event);
  if (claimed) {
    return new StoredRecord({
      id: row.id,
      target: row.target,
      eventJson: json ?? DROPPED_EVENT_JSON,
      eventDropped: json === undefined,
      webhookId: row.webhook_id,
      attempts: Number(row.attempts) - 1,
      state: row.state,
      dueAt: Number(row.due_at),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      lastError: row.last_error ?? undefined,
      traceContext: row.trace_context,
    });
  }
  return {
    id: row.id,
    target: row.target,
    event: JSON.parse(json ?? DROPPED_EVENT_JSON) as Record<string, unknown>,
    webhookId: row.webhook_id,
    attempts: Number(row.attempts),
    state: row.state,
    dueAt: Number(row.due_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.trace_context === null || row.trace_context === undefined ? {} : { traceContext: row.trace_context }),
    ...(json === undefined ? { eventDropped: true } : {}),
  };
}

export function attemptFromRow(row: AttemptRow): AttemptRecord {
  const detail = row.detail === null ? {} : (JSON.parse(row.detail) as Partial<AttemptRecord>);
  return {
    deliveryId: row.delivery_id,
    attempt: Number(row.attempt),
    startedAt: Number(row.started_at),
    durationMs: Number(row.duration_ms),
    ok: row.ok === 1 || (row.ok as unknown) === true,
    ...detail,
    ...(row.http_status === null ? {} : { httpStatus: row.http_status }),
    ...(row.exit_code === null ? {} : { exitCode: row.exit_code }),
    ...(row.response === null ? {} : { response: row.response }),
    ...(row.error === null ? {} : { error: row.error }),
    ...(typeof row.request_headers === 'string' ? { requestHeaders: JSON.parse(row.request_headers) as Record<string, string> } : {}),
    ...(typeof row.request_body === 'string' ? { requestBody: row.request_body } : {}),
    ...(typeof row.response_headers === 'string' ? { responseHeaders: JSON.parse(row.response_headers) as Record<string, string> } : {}),
  };
}

/**
 * Per headers field (request, response), the object last turned into JSON
 * text here and its text: consecutive attempts to one receiver often share
 * one object for the response headers (the webhook sender gives the last one
 * again while the receiver's headers are the same, frozen), so a batch
 * stringifies it once instead of once per settle (the SQLite wire's and the
 * PostgreSQL settle's).
 */
const lastHeaders: Array<object | undefined> = [undefined, undefined];
const lastHeadersText: string[] = ['', ''];

export function headersJson(value: object, field: 0 | 1): string {
  // Only a frozen object can be trusted to hold what it held last time: a target's own result may reuse and change one.
  if (value !== lastHeaders[field] || !Object.isFrozen(value)) {
    lastHeadersText[field] = JSON.stringify(value);
    lastHeaders[field] = value;
  }
  return lastHeadersText[field] as string;
}

/**
 * The WHERE terms of a delivery search (alias `d`), with `mark(n)` making
 * the n-th placeholder (`?` or `$n`). Lists walk (created_at, id) newest
 * first: the search indexes (target, created_at, id), (state, created_at,
 * id) and (created_at, id) give a page without reading the rest, and the
 * keyset position is a row-value comparison on them.
 */
export function listWhere(filter: ListFilter, mark: (n: number) => string): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (term: (p: string) => string, value: unknown): void => {
    params.push(value);
    where.push(term(mark(params.length)));
  };
  if (filter.state !== undefined) add((p) => `d.state = ${p}`, filter.state);
  if (filter.target !== undefined) add((p) => `d.target = ${p}`, filter.target);
  if (filter.eventId !== undefined) add((p) => `d.event_uuid = ${p}`, filter.eventId);
  if (filter.since !== undefined) add((p) => `d.created_at >= ${p}`, filter.since);
  if (filter.until !== undefined) add((p) => `d.created_at < ${p}`, filter.until);
  if (filter.before !== undefined) add((p) => `d.created_at < ${p}`, filter.before);
  if (filter.after !== undefined) {
    params.push(filter.after.createdAt, filter.after.id);
    where.push(`(d.created_at, d.id) < (${mark(params.length - 1)}, ${mark(params.length)})`);
  }
  return { where, params };
}

/** The ORDER BY of a delivery search (see listWhere). */
export const LIST_ORDER = 'd.created_at DESC, d.id DESC';

/** (state, count) rows as the four counts. */
export function stateCounts(rows: readonly { state: DeliveryState; n: number | string }[]): StateCounts {
  const out = { pending: 0, inflight: 0, done: 0, failed: 0 };
  for (const r of rows) out[r.state] = Number(r.n);
  return out;
}

/** The attempt fields without their own column, as JSON (or null). */
export function attemptDetail(record: AttemptRecord): string | null {
  return attemptDetailText(record.retryable, record.retryAfterMs, record.disableTarget, record.requestBodyIsEvent === true);
}

const BODY_IS_EVENT_DETAIL = JSON.stringify({ requestBodyIsEvent: true });

/** attemptDetail from the fields themselves (null or undefined: absent), as the SQLite thread reads them off its wire. */
export function attemptDetailText(
  retryable: boolean | null | undefined,
  retryAfterMs: number | null | undefined,
  disableTarget: boolean | null | undefined,
  requestBodyIsEvent: boolean,
): string | null {
  // Most attempts have none of them, or (a webhook that sent the stored event as is) only the mark: no object to build.
  if (retryable == null && retryAfterMs == null && disableTarget == null) return requestBodyIsEvent ? BODY_IS_EVENT_DETAIL : null;
  const detail: Record<string, unknown> = {};
  if (retryable != null) detail['retryable'] = retryable;
  if (retryAfterMs != null) detail['retryAfterMs'] = retryAfterMs;
  if (disableTarget != null) detail['disableTarget'] = disableTarget;
  if (requestBodyIsEvent) detail['requestBodyIsEvent'] = true;
  return JSON.stringify(detail);
}

/** Shapes grouped (target, state, count) rows of pending and in-flight deliveries into open counts. */
export function openFromRows(rows: readonly { target: string; state: 'pending' | 'inflight'; n: number | string }[]): TargetOpen[] {
  const by = new Map<string, { target: string; pending: number; inflight: number }>();
  for (const r of rows) {
    let o = by.get(r.target);
    if (o === undefined) by.set(r.target, (o = { target: r.target, pending: 0, inflight: 0 }));
    o[r.state] = Number(r.n);
  }
  return [...by.values()];
}

/** Shapes grouped (target, state, count, oldest due) rows into depth reports. */
export function buildDepth(
  rows: readonly { target: string; state: DeliveryState; n: number | string; oldest: number | string | null }[],
  disabled: ReadonlyMap<string, DisabledTarget>,
): TargetDepth[] {
  const by = new Map<string, { pending: number; inflight: number; failed: number; done: number; oldestDueAt?: number }>();
  const entry = (target: string) => {
    let d = by.get(target);
    if (d === undefined) {
      d = { pending: 0, inflight: 0, failed: 0, done: 0 };
      by.set(target, d);
    }
    return d;
  };
  for (const r of rows) {
    const d = entry(r.target);
    d[r.state] = Number(r.n);
    if (r.state === 'pending' && r.oldest !== null) d.oldestDueAt = Number(r.oldest);
  }
  for (const target of disabled.keys()) entry(target);
  return [...by]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([target, d]) => {
      const off = disabled.get(target);
      return { target, ...d, ...(off === undefined ? {} : { disabled: { at: off.at, reason: off.reason } }) };
    });
}
