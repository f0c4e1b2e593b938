// The wire between SqliteThreadStore and its worker (sqlite-worker.ts): the
// call and answer messages, and the packing of the hot calls' arguments and
// results. Its own module, as piscina keeps its types.ts, so neither side
// imports the other.

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
    const record = r.record as unknown as Record<string, Packed | undefined>;
    for (const field of ATTEMPT_FIELDS) {
      const value = record[field] ?? null;
      out[i++] = value === null ? null : OBJECT_FIELDS.has(field) ? JSON.stringify(value) : field === 'deliveryId' && value === r.deliveryId ? null : value;
    }
  }
  return out;
}

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

/** Claimed records (fresh from the store: their event is the stored JSON) as a flat array. */
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

