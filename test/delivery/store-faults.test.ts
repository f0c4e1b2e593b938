// Store-unavailable conditions (PostgreSQL restarting, a dropped connection,
// SQLite's disk full or busy) are one classification, and the gateway answers
// them 503 HKW_ERR_DELIVERY_STORE with Retry-After.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeliveryStoreError } from '../../src/errors.js';
import { asStoreError, storeFault } from '../../src/delivery/store-faults.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { send, startGateway } from '../server/gateway-helpers.js';
import { waitFor } from '../helpers/wait-for.js';

function withCode(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

test('storeFault: every store-unavailable condition is classified, other errors are not', () => {
  const unavailable: Array<[string, unknown]> = [
    ['57P01 admin_shutdown', withCode('57P01', 'terminating connection due to administrator command')],
    ['57P02 crash_shutdown', withCode('57P02')],
    ['57P03 starting up', withCode('57P03', 'the database system is starting up')],
    ['57P03 shutting down', withCode('57P03', 'the database system is shutting down')],
    ['08006 connection failure', withCode('08006')],
    ['08003 connection does not exist', withCode('08003')],
    ['08P01 protocol violation', withCode('08P01')],
    ['ECONNREFUSED', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['ECONNRESET', withCode('ECONNRESET', 'read ECONNRESET')],
    ['EPIPE', withCode('EPIPE', 'write EPIPE')],
    ['ETIMEDOUT', withCode('ETIMEDOUT')],
    ['pg: connection terminated', new Error('Connection terminated unexpectedly')],
    ['pg: terminated (no code)', new Error('Connection terminated')],
    ['pg: pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['SQLITE_BUSY', withCode('SQLITE_BUSY', 'database is locked')],
    ['SQLITE_IOERR_WRITE', withCode('SQLITE_IOERR_WRITE', 'disk I/O error')],
    ['a cause chain', new Error('wrapped', { cause: withCode('ECONNRESET') })],
    ['a serialized worker error', { name: 'SqliteError', message: 'disk I/O error', code: 'SQLITE_IOERR' }],
  ];
  for (const [what, err] of unavailable) assert.equal(storeFault(err), 'unavailable', what);
  const full: Array<[string, unknown]> = [
    ['SQLITE_FULL', withCode('SQLITE_FULL', 'database or disk is full')],
    ['ENOSPC', withCode('ENOSPC', 'no space left on device')],
    ['message only', new Error('database or disk is full')],
  ];
  for (const [what, err] of full) assert.equal(storeFault(err), 'disk-full', what);
  const others: Array<[string, unknown]> = [
    ['unique violation', withCode('23505', 'duplicate key value')],
    ['syntax error', withCode('42601')],
    ['SQLITE_CONSTRAINT', withCode('SQLITE_CONSTRAINT_PRIMARYKEY')],
    ['a TypeError', new TypeError('x is undefined')],
    ['not an error', 'ECONNRESET'],
    ['undefined', undefined],
  ];
  for (const [what, err] of others) assert.equal(storeFault(err), undefined, what);
});

test('asStoreError: a store fault becomes a 503 DeliveryStoreError with its fault and Retry-After; others pass through', () => {
  const lost = asStoreError(withCode('57P03', 'the database system is starting up'), 'PostgreSQL at postgres://u:***@h/db');
  assert.ok(lost instanceof DeliveryStoreError);
  assert.equal(lost.statusCode, 503);
  assert.equal(lost.code, 'HKW_ERR_DELIVERY_STORE');
  assert.equal(lost.fault, 'unavailable');
  assert.ok(lost.retryAfter > 0);
  assert.match(lost.message, /starting up/);
  const full = asStoreError(withCode('SQLITE_FULL', 'database or disk is full'), 'SQLite "x.db"');
  assert.ok(full instanceof DeliveryStoreError);
  assert.equal(full.fault, 'disk-full');
  assert.match(full.message, /disk is full/);
  const bug = new TypeError('boom');
  assert.equal(asStoreError(bug, 'x'), bug);
});

describe('POST /v1/events while PostgreSQL is stopped', () => {
  let pg: ThrowawayPostgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg.stop());

  test('answers 503 HKW_ERR_DELIVERY_STORE with Retry-After and /v1/health says degraded; 202 and ok again once it is back', async () => {
    const gw = await startGateway({
      store: { url: pg.url },
      events: [{ id: '100', name: 'upload' }],
      ssrf: { allow: ['127.0.0.1/32'] },
      handlers: [{ type: 'webhook', name: 'w', url: 'http://127.0.0.1:9/x', actions: ['upload'] }],
    });
    try {
      assert.equal(gw.runtime.services.delivery?.store.kind, 'postgres');
      const ok = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/a' } } });
      assert.equal(ok.status, 202);
      await pg.halt();
      const refused = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/b' } } });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body['code'], 'HKW_ERR_DELIVERY_STORE');
      assert.match(String(refused.headers['retry-after']), /^[1-9][0-9]*$/);
      assert.doesNotMatch(String(refused.body['message']), /hookwork:hookwork@/, 'no password in the answer');
      // /v1/health stays 200 (liveness) but is not "ok": it names the failing part.
      const health = await send(gw.url, 'GET', '/v1/health');
      assert.equal(health.status, 200);
      assert.equal(health.body['status'], 'degraded');
      const [problem] = health.body['problems'] as Array<Record<string, unknown>>;
      assert.equal(problem?.['part'], 'delivery-store');
      assert.equal(problem?.['fault'], 'unavailable');
      await pg.resume();
      // The pool drops its dead connections and opens new ones.
      const again = await waitFor(
        async () => {
          const answer = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/c' } } });
          return answer.status !== 503 && answer;
        },
        { what: 'the store to take events again', intervalMs: 100 },
      );
      assert.equal(again.status, 202, JSON.stringify(again.body));
      assert.equal((await send(gw.url, 'GET', '/v1/health')).body['status'], 'ok');
    } finally {
      await gw.close();
    }
  });
});
