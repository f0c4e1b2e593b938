import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serialize } from 'node:v8';
import { attemptDetail } from '../../src/delivery/row-mappers.js';
import { packClaimed, packRows, packSettles, readSettle, settleCount, settleView, unpackClaimed, unpackRows, unpackSettles } from '../../src/delivery/sqlite-wire.js';
import type { SettleRequest, StoredDeliveryInput } from '../../src/delivery/store.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';

/** Headers as the attempt columns keep them (JSON), or null. */
const headersText = (headers: Readonly<Record<string, string>> | undefined): string | null => (headers === undefined ? null : JSON.stringify(headers));

const settles: SettleRequest[] = [
  { deliveryId: 'dlv_1', nodeId: 'node-a', attempt: 1, record: { deliveryId: 'dlv_1', attempt: 1, startedAt: 10, durationMs: 2, ok: true, httpStatus: 200, response: 'ok', requestHeaders: { 'webhook-id': 'msg_1' }, requestBodyIsEvent: true }, outcome: { state: 'done' } },
  { deliveryId: 'dlv_2', nodeId: 'node-a', attempt: 2, record: { deliveryId: 'dlv_2', attempt: 2, startedAt: 11, durationMs: 3, ok: false, retryable: true, error: 'HTTP 503' }, outcome: { state: 'pending', dueAt: 99, error: 'HTTP 503' } },
  { deliveryId: 'dlv_3', nodeId: 'node-b', attempt: 1, record: { deliveryId: 'dlv_3', attempt: 1, startedAt: 12, durationMs: 0, ok: false, error: 'not attempted' }, outcome: { state: 'pending', dueAt: 12, resetAttempts: true }, unattempted: true },
  { deliveryId: 'dlv_4', nodeId: 'node-b', attempt: 8, record: { deliveryId: 'dlv_4', attempt: 8, startedAt: 13, durationMs: 1, ok: false, error: 'gone' }, outcome: { state: 'failed', error: 'gone' } },
  { deliveryId: 'dlv_5', nodeId: 'node-a', attempt: 1, record: { deliveryId: 'dlv_5', attempt: 1, startedAt: 14, durationMs: 4, ok: true, retryable: false, retryAfterMs: 0, httpStatus: 204, responseHeaders: { 'x-a': '1' }, requestBody: '{"a":1}' }, outcome: { state: 'done', keepBody: 'compressed' } },
  // Every field of the record set, each to its own value.
  {
    deliveryId: 'dlv_6',
    nodeId: 'node-a',
    attempt: 3,
    record: { deliveryId: 'dlv_6', attempt: 3, startedAt: 15, durationMs: 6, ok: false, retryable: false, retryAfterMs: 7, disableTarget: true, httpStatus: 410, exitCode: 2, response: 'gone', error: 'HTTP 410', requestHeaders: { 'x-r': '6' }, requestBody: 'b6', requestBodyIsEvent: false, responseHeaders: { 'x-s': '6' } },
    outcome: { state: 'failed', error: 'HTTP 410' },
  },
];

/** The same values in an array made with a length: V8 keeps it "holey", and structured clone sends it as a sparse object. */
function holeyCopy(values: readonly unknown[]): unknown[] {
  const copy = new Array<unknown>(values.length);
  for (let i = 0; i < values.length; i++) copy[i] = values[i];
  return copy;
}

test('settles cross the SQLite thread unchanged (node ids and the record\'s delivery id sent once)', () => {
  assert.deepEqual(unpackSettles(packSettles(settles)), settles);
});

test('enqueue rows and claimed records cross the SQLite thread unchanged', () => {
  const rows: StoredDeliveryInput[] = [
    { id: 'dlv_1', target: 'a', eventJson: '{"n":1}', webhookId: 'msg_1', dueAt: 5, createdAt: 5, traceContext: undefined },
    { id: 'dlv_2', target: 'b', eventJson: '{"n":1}', webhookId: 'msg_2', dueAt: 5, createdAt: 5, traceContext: 'tp', claim: { nodeId: 'n', leaseUntil: 9 } },
  ];
  assert.deepEqual(unpackRows(packRows(rows)), rows);
  const claimed = unpackClaimed(packClaimed(unpackClaimed(packClaimed([{ id: 'dlv_1', target: 'a', eventJson: '{"n":1}', webhookId: 'msg_1', attempts: 1, state: 'inflight', dueAt: 1, createdAt: 1, updatedAt: 2 } as DeliveryRecord]))));
  assert.deepEqual([claimed[0]?.id, claimed[0]?.eventJson, claimed[0]?.attempts, claimed[0]?.state], ['dlv_1', '{"n":1}', 1, 'inflight']);
});

test('the packed arrays cross the thread as lists of values, not as sparse objects (index by index)', () => {
  const rows: StoredDeliveryInput[] = [{ id: 'dlv_1', target: 'a', eventJson: '{}', webhookId: 'msg_1', dueAt: 1, createdAt: 1 }];
  const claimed = [{ id: 'dlv_1', target: 'a', eventJson: '{}', webhookId: 'msg_1', attempts: 1, state: 'inflight', dueAt: 1, createdAt: 1, updatedAt: 1 } as DeliveryRecord];
  for (const [name, packed] of [['settles', packSettles(settles)], ['rows', packRows(rows)], ['claimed', packClaimed(claimed)]] as const) {
    assert.ok(serialize(packed).length < serialize(holeyCopy(packed)).length, `${name}: serialised as a sparse array`);
  }
});

test('the store thread reads each packed settle into one reused view: the outcome and the attempt row as the request gives them', () => {
  const packed = packSettles(settles);
  assert.equal(settleCount(packed), settles.length);
  const view = settleView();
  let nodeId = '';
  settles.forEach((r, n) => {
    readSettle(packed, n, view, nodeId);
    nodeId = view.nodeId;
    const o = r.outcome;
    const a = r.record;
    assert.deepEqual(
      { ...view },
      {
        deliveryId: r.deliveryId,
        nodeId: r.nodeId,
        attempt: r.attempt,
        unattempted: r.unattempted === true,
        state: o.state,
        dueAt: o.state === 'pending' ? o.dueAt : null,
        error: o.state === 'done' ? null : (o.error ?? null),
        keepBody: o.state === 'done' ? (o.keepBody ?? 'full') : 'full',
        resetAttempts: o.state === 'pending' && o.resetAttempts === true,
        recordAttempt: a.attempt,
        startedAt: a.startedAt,
        durationMs: a.durationMs,
        ok: a.ok,
        httpStatus: a.httpStatus ?? null,
        exitCode: a.exitCode ?? null,
        response: a.response ?? null,
        attemptError: a.error ?? null,
        detail: attemptDetail(a),
        requestHeaders: headersText(a.requestHeaders),
        requestBody: a.requestBody ?? null,
        responseHeaders: headersText(a.responseHeaders),
      },
      r.deliveryId,
    );
  });
});

test('header objects shared by several settles, or packed again after another one, each cross as their own text', () => {
  const shared = { 'x-a': '1', date: 'Sun, 06 Dec 2026 14:40:00 GMT' };
  const other = { 'x-a': '2' };
  const settle = (id: string, requestHeaders: Record<string, string>, responseHeaders: Record<string, string>): SettleRequest => ({
    deliveryId: id,
    nodeId: 'node-a',
    attempt: 1,
    record: { deliveryId: id, attempt: 1, startedAt: 1, durationMs: 1, ok: true, httpStatus: 200, requestHeaders, responseHeaders, requestBodyIsEvent: true },
    outcome: { state: 'done' },
  });
  const batches = [
    [settle('dlv_1', { 'webhook-id': 'msg_1' }, shared), settle('dlv_2', { 'webhook-id': 'msg_2' }, shared), settle('dlv_3', shared, other)],
    [settle('dlv_4', other, shared)],
    [settle('dlv_5', other, other), settle('dlv_6', { 'webhook-id': 'msg_6' }, shared)],
  ];
  for (const batch of batches) assert.deepEqual(unpackSettles(packSettles(batch)), batch);
});

test('a headers object that is not frozen is turned into text anew each time: a target may reuse one and change it between attempts', () => {
  const reused: Record<string, string> = { 'x-a': '1' };
  const settle = (id: string): SettleRequest => ({
    deliveryId: id,
    nodeId: 'node-a',
    attempt: 1,
    record: { deliveryId: id, attempt: 1, startedAt: 1, durationMs: 1, ok: true, httpStatus: 200, responseHeaders: reused },
    outcome: { state: 'done' },
  });
  const first = unpackSettles(packSettles([settle('dlv_1')]));
  reused['x-a'] = '2';
  const second = unpackSettles(packSettles([settle('dlv_2')]));
  assert.deepEqual(first[0]?.record.responseHeaders, { 'x-a': '1' });
  assert.deepEqual(second[0]?.record.responseHeaders, { 'x-a': '2' });
});
