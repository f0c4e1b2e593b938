// The wire between SqliteThreadStore and its worker (sqlite-worker.ts): the
// call and answer messages, and the packing of the hot calls' arguments and
// results. Its own module, as piscina keeps its types.ts, so neither side
// imports the other.

import { attemptDetailText, headersJson } from './row-mappers.js';
import { eventJsonOf, StoredRecord, type KeepDoneBody, type SettleRequest, type Settlement, type StoredDeliveryInput } from './store.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState } from './types.js';

export interface StoreCall {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

export type StoreAnswer =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly code?: string } };

// What crosses the thread: enqueue rows, settles and claimed records go as
// flat arrays of primitives, not arrays of objects. Structured clone of many
// small objects cost both threads several times more than the statements
// they carried. An event equal to the previous row's is sent once (null
// after it): deliveries of one event to several targets, and bursts of the
// same event, share one string on either side.
//
// The arrays are built by appending (`[]`), never `new Array(n)`: an array
// made with a length is "holey" to V8 even once filled, and structured clone
// sends a holey array as a sparse object, index by index as keys (twice the
// bytes, and several times slower to read back), where a packed one goes as
// a list of values.

/** One value of a packed array. */
export type Packed = string | number | boolean | null;

const ROW_FIELDS = 9;

/** Where each field of an enqueue row sits in packRows' layout (its slots: `fields` per row). */
export const ROW = { id: 0, target: 1, event: 2, webhookId: 3, dueAt: 4, createdAt: 5, nodeId: 6, leaseUntil: 7, trace: 8, fields: ROW_FIELDS } as const;

export function packRows(rows: readonly StoredDeliveryInput[]): Packed[] {
  const out: Packed[] = [];
  let last: string | undefined;
  let i = 0;
  for (const r of rows) {
    const json = eventJsonOf(r);
    out[i++] = r.id;
    out[i++] = r.target;
    out[i++] = json === last ? null : json;
    out[i++] = r.webhookId;
    out[i++] = r.dueAt;
    out[i++] = r.createdAt;
    out[i++] = r.claim?.nodeId ?? null;
    out[i++] = r.claim?.leaseUntil ?? null;
    out[i++] = r.traceContext ?? null;
    last = json;
  }
  return out;
}

/** The rows again (the store thread reads them in place, SqliteStore.enqueuePacked; this is the layout's reference, for the tests). */
export function unpackRows(packed: readonly Packed[]): StoredDeliveryInput[] {
  const rows: StoredDeliveryInput[] = [];
  let json = '';
  for (let i = 0; i < packed.length; i += ROW_FIELDS) {
    if (packed[i + 2] !== null) json = packed[i + 2] as string;
    const nodeId = packed[i + 6];
    const base = {
      id: packed[i] as string,
      target: packed[i + 1] as string,
      eventJson: json,
      webhookId: packed[i + 3] as string,
      dueAt: packed[i + 4] as number,
      createdAt: packed[i + 5] as number,
      traceContext: (packed[i + 8] as string | null) ?? undefined,
    };
    rows.push(nodeId === null ? base : { ...base, claim: { nodeId: nodeId as string, leaseUntil: packed[i + 7] as number } });
  }
  return rows;
}

/** Every field of an attempt record, in packing order (the type check below fails when one is added and not listed). */
const ATTEMPT_FIELDS = [
  'deliveryId',
  'attempt',
  'startedAt',
  'durationMs',
  'ok',
  'retryable',
  'retryAfterMs',
  'disableTarget',
  'httpStatus',
  'exitCode',
  'response',
  'error',
  'requestHeaders',
  'requestBody',
  'requestBodyIsEvent',
  'responseHeaders',
] as const satisfies readonly (keyof AttemptRecord)[];
type Unlisted = Exclude<keyof AttemptRecord, (typeof ATTEMPT_FIELDS)[number]>;
const everyAttemptField: [Unlisted] extends [never] ? true : Unlisted = true;
void everyAttemptField;

// Where each attempt field sits after a settle's first 8 slots.
const A_ATTEMPT = ATTEMPT_FIELDS.indexOf('attempt');
const A_STARTED = ATTEMPT_FIELDS.indexOf('startedAt');
const A_DURATION = ATTEMPT_FIELDS.indexOf('durationMs');
const A_OK = ATTEMPT_FIELDS.indexOf('ok');
const A_RETRYABLE = ATTEMPT_FIELDS.indexOf('retryable');
const A_RETRY_AFTER = ATTEMPT_FIELDS.indexOf('retryAfterMs');
const A_DISABLE = ATTEMPT_FIELDS.indexOf('disableTarget');
const A_HTTP = ATTEMPT_FIELDS.indexOf('httpStatus');
const A_EXIT = ATTEMPT_FIELDS.indexOf('exitCode');
const A_RESPONSE = ATTEMPT_FIELDS.indexOf('response');
const A_ERROR = ATTEMPT_FIELDS.indexOf('error');
const A_REQUEST_HEADERS = ATTEMPT_FIELDS.indexOf('requestHeaders');
const A_REQUEST_BODY = ATTEMPT_FIELDS.indexOf('requestBody');
const A_BODY_IS_EVENT = ATTEMPT_FIELDS.indexOf('requestBodyIsEvent');
const A_RESPONSE_HEADERS = ATTEMPT_FIELDS.indexOf('responseHeaders');

/** The attempt fields that are objects: they cross as JSON text (the packed arrays hold primitives). */
const OBJECT_FIELDS: ReadonlySet<string> = new Set(['requestHeaders', 'responseHeaders']);

/**
 * deliveryId, nodeId, attempt, unattempted, outcome (state, dueAt, error,
 * resetAttempts), then the record's fields. Strings the reader knows already
 * cross as null: the nodeId of the settle before, the record's deliveryId
 * (the settle's).
 */
const SETTLE_FIELDS = 8 + ATTEMPT_FIELDS.length;

export function packSettles(requests: readonly SettleRequest[]): Packed[] {
  const out: Packed[] = [];
  let i = 0;
  let lastNode: string | undefined;
  for (const r of requests) {
    const o = r.outcome;
    out[i++] = r.deliveryId;
    out[i++] = r.nodeId === lastNode ? null : r.nodeId;
    lastNode = r.nodeId;
    out[i++] = r.attempt;
    out[i++] = r.unattempted ?? null;
    out[i++] = o.state;
    out[i++] = o.state === 'pending' ? o.dueAt : null;
    // A done outcome has no error: its slot carries keepBody.
    out[i++] = o.state === 'done' ? (o.keepBody ?? null) : (o.error ?? null);
    out[i++] = o.state === 'pending' ? (o.resetAttempts ?? null) : null;
    // The record's fields in ATTEMPT_FIELDS order, read by name (a loop over the names was a keyed lookup each).
    const a = r.record;
    out[i++] = a.deliveryId === r.deliveryId ? null : (a.deliveryId ?? null);
    out[i++] = a.attempt ?? null;
    out[i++] = a.startedAt ?? null;
    out[i++] = a.durationMs ?? null;
    out[i++] = a.ok ?? null;
    out[i++] = a.retryable ?? null;
    out[i++] = a.retryAfterMs ?? null;
    out[i++] = a.disableTarget ?? null;
    out[i++] = a.httpStatus ?? null;
    out[i++] = a.exitCode ?? null;
    out[i++] = a.response ?? null;
    out[i++] = a.error ?? null;
    out[i++] = a.requestHeaders == null ? null : headersJson(a.requestHeaders, 0);
    out[i++] = a.requestBody ?? null;
    out[i++] = a.requestBodyIsEvent ?? null;
    out[i++] = a.responseHeaders == null ? null : headersJson(a.responseHeaders, 1);
  }
  return out;
}

/**
 * One settle as the store applies it: the outcome and the attempt row's
 * columns. The store thread reads each packed settle into one such object,
 * reused (readSettle), so settling a batch makes no object per settle.
 */
export interface SettleView {
  deliveryId: string;
  nodeId: string;
  attempt: number;
  unattempted: boolean;
  state: Settlement['state'];
  /** A pending outcome's due time, else null. */
  dueAt: number | null;
  /** The outcome's error (pending or failed), else null. */
  error: string | null;
  keepBody: KeepDoneBody;
  resetAttempts: boolean;
  // The attempt row.
  recordAttempt: number;
  startedAt: number;
  durationMs: number;
  ok: boolean;
  httpStatus: number | null;
  exitCode: number | null;
  response: string | null;
  attemptError: string | null;
  /** The attempt's detail column (attemptDetailText). */
  detail: string | null;
  /** Headers as JSON text, as the attempt row keeps them. */
  requestHeaders: string | null;
  requestBody: string | null;
  responseHeaders: string | null;
}

/** An empty view for readSettle to fill. */
export function settleView(): SettleView {
  return {
    deliveryId: '',
    nodeId: '',
    attempt: 0,
    unattempted: false,
    state: 'done',
    dueAt: null,
    error: null,
    keepBody: 'full',
    resetAttempts: false,
    recordAttempt: 0,
    startedAt: 0,
    durationMs: 0,
    ok: false,
    httpStatus: null,
    exitCode: null,
    response: null,
    attemptError: null,
    detail: null,
    requestHeaders: null,
    requestBody: null,
    responseHeaders: null,
  };
}

/** How many settles a packed array holds. */
export function settleCount(packed: readonly Packed[]): number {
  return packed.length / SETTLE_FIELDS;
}

/**
 * Fills `view` with the n-th settle of `packed`; `nodeId` is the node id
 * read for the settle before it (null slots repeat it). The object fields
 * are JSON text on the wire already: they go to the row as they are.
 */
export function readSettle(packed: readonly Packed[], n: number, view: SettleView, nodeId: string): void {
  const i = n * SETTLE_FIELDS;
  const node = packed[i + 1];
  const state = packed[i + 4] as Settlement['state'];
  const slot6 = packed[i + 6] as string | null;
  view.deliveryId = packed[i] as string;
  view.nodeId = node === null ? nodeId : (node as string);
  view.attempt = packed[i + 2] as number;
  view.unattempted = packed[i + 3] === true;
  view.state = state;
  view.dueAt = state === 'pending' ? (packed[i + 5] as number) : null;
  // A done outcome has no error: its slot carries keepBody.
  view.error = state === 'done' ? null : slot6;
  view.keepBody = state === 'done' && slot6 !== null ? (slot6 as KeepDoneBody) : 'full';
  view.resetAttempts = state === 'pending' && packed[i + 7] === true;
  const r = i + 8;
  view.recordAttempt = packed[r + A_ATTEMPT] as number;
  view.startedAt = packed[r + A_STARTED] as number;
  view.durationMs = packed[r + A_DURATION] as number;
  view.ok = packed[r + A_OK] === true;
  view.httpStatus = packed[r + A_HTTP] as number | null;
  view.exitCode = packed[r + A_EXIT] as number | null;
  view.response = packed[r + A_RESPONSE] as string | null;
  view.attemptError = packed[r + A_ERROR] as string | null;
  view.detail = attemptDetailText(
    packed[r + A_RETRYABLE] as boolean | null,
    packed[r + A_RETRY_AFTER] as number | null,
    packed[r + A_DISABLE] as boolean | null,
    packed[r + A_BODY_IS_EVENT] === true,
  );
  view.requestHeaders = packed[r + A_REQUEST_HEADERS] as string | null;
  view.requestBody = packed[r + A_REQUEST_BODY] as string | null;
  view.responseHeaders = packed[r + A_RESPONSE_HEADERS] as string | null;
}

/** The settles again (the store thread reads them in place, readSettle; this is the layout's reference, for the tests). */
export function unpackSettles(packed: readonly Packed[]): SettleRequest[] {
  const out: SettleRequest[] = [];
  let nodeId = '';
  for (let i = 0; i < packed.length; i += SETTLE_FIELDS) {
    if (packed[i + 1] !== null) nodeId = packed[i + 1] as string;
    const state = packed[i + 4] as Settlement['state'];
    const error = packed[i + 6] as string | null;
    let outcome: Settlement;
    if (state === 'done') outcome = error === null ? { state } : { state, keepBody: error as KeepDoneBody };
    else if (state === 'failed') outcome = { state, error: error as string };
    else {
      const reset = packed[i + 7];
      outcome = { state, dueAt: packed[i + 5] as number, ...(error === null ? {} : { error }), ...(reset === null ? {} : { resetAttempts: reset as boolean }) };
    }
    const record: Record<string, Packed> = {};
    let k = i + 8;
    for (const field of ATTEMPT_FIELDS) {
      const value = (packed[k++] as Packed) ?? (field === 'deliveryId' ? (packed[i] as string) : null);
      if (value !== null) record[field] = OBJECT_FIELDS.has(field) ? (JSON.parse(value as string) as Packed) : value;
    }
    const unattempted = packed[i + 3];
    const request = {
      deliveryId: packed[i] as string,
      nodeId,
      attempt: packed[i + 2] as number,
      record: record as unknown as AttemptRecord,
      outcome,
    };
    out.push(unattempted === null ? request : { ...request, unattempted: unattempted as boolean });
  }
  return out;
}

const CLAIMED_FIELDS = 11;

/** What the store's claim statements return of each row, in raw mode: ClaimedRow's order. */
export const CLAIMED_COLUMNS = `id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, last_error, trace_context`;

export type ClaimedRow = [
  id: string,
  target: string,
  eventSeq: number,
  webhookId: string,
  attempts: number,
  state: DeliveryState,
  dueAt: number,
  createdAt: number,
  updatedAt: number,
  lastError: string | null,
  traceContext: string | null,
];

/**
 * Appends a row the claim statements returned (their attempts already
 * counted: the record's is one less) as packClaimed would its record; `json`
 * is null when the row before it had the same event.
 */
export function pushClaimedRow(out: Packed[], row: ClaimedRow, json: string | null): void {
  out.push(row[0], row[1], json, row[3], row[4] - 1, row[5], row[6], row[7], row[8], row[9], row[10]);
}

/** Claimed records (fresh from the store: their event is the stored JSON) as a flat array; the store thread packs its rows as they come (pushClaimedRow). */
export function packClaimed(records: readonly DeliveryRecord[]): Packed[] {
  const out: Packed[] = [];
  let last: string | undefined;
  let i = 0;
  for (const d of records) {
    const json = d.eventJson ?? JSON.stringify(d.event);
    out[i++] = d.id;
    out[i++] = d.target;
    out[i++] = json === last ? null : json;
    out[i++] = d.webhookId;
    out[i++] = d.attempts;
    out[i++] = d.state;
    out[i++] = d.dueAt;
    out[i++] = d.createdAt;
    out[i++] = d.updatedAt;
    out[i++] = d.lastError ?? null;
    out[i++] = d.traceContext ?? null;
    last = json;
  }
  return out;
}

/** Claimed records again; the event is parsed here, on first read, and one string serves every record of the same event. */
export function unpackClaimed(packed: readonly Packed[]): DeliveryRecord[] {
  const out: DeliveryRecord[] = [];
  let json = '';
  for (let i = 0; i < packed.length; i += CLAIMED_FIELDS) {
    if (packed[i + 2] !== null) json = packed[i + 2] as string;
    out.push(
      new StoredRecord({
        id: packed[i] as string,
        target: packed[i + 1] as string,
        eventJson: json,
        webhookId: packed[i + 3] as string,
        attempts: packed[i + 4] as number,
        state: packed[i + 5] as DeliveryState,
        dueAt: packed[i + 6] as number,
        createdAt: packed[i + 7] as number,
        updatedAt: packed[i + 8] as number,
        lastError: (packed[i + 9] as string | null) ?? undefined,
        traceContext: packed[i + 10] as string | null,
      }),
    );
  }
  return out;
}

