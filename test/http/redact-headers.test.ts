import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedactedHeaderRecords, redactHeaders, redactionList } from '../../src/http/redact-headers.js';

const redact = redactionList(['X-Api-Key']);

test('fresh(): a list with the last names fills a copy: the same record redactHeaders() makes, a new object each time, credentials redacted', () => {
  const records = new RedactedHeaderRecords(redact);
  const list = (id: string, key: string) => ['User-Agent', 'Hookwork', 'x-api-key', key, 'authorization', `Bearer ${key}`, 'webhook-id', id, 'x-note', '[redacted]'];
  const seen: Array<Record<string, string>> = [];
  for (const [id, key] of [['msg_1', 'k1'], ['msg_2', 'k2'], ['msg_3', 'k3']] as const) {
    const flat = list(id, key);
    const made = records.fresh(flat);
    assert.deepEqual(made, redactHeaders(flat, redact));
    assert.deepEqual(Object.keys(made), ['user-agent', 'x-api-key', 'authorization', 'webhook-id', 'x-note']);
    assert.ok(!seen.includes(made));
    seen.push(made);
  }
  assert.equal(seen[0]?.['webhook-id'], 'msg_1');
  assert.equal(seen[2]?.['webhook-id'], 'msg_3');
  assert.equal(seen[2]?.['x-api-key'], '[redacted]');
  assert.equal(seen[2]?.['authorization'], '[redacted]');
  // A value that reads "[redacted]" in a header that is not redacted is a value like any other.
  const other = records.fresh(['User-Agent', 'Hookwork', 'x-api-key', 'k', 'authorization', 'b', 'webhook-id', 'm', 'x-note', 'plain']);
  assert.equal(other['x-note'], 'plain');
});

test('fresh(): other names, or a repeated name, make the record as redactHeaders() does', () => {
  const records = new RedactedHeaderRecords(redact);
  records.fresh(['a', '1', 'b', '2']);
  assert.deepEqual(records.fresh(['a', '1', 'c', '3']), { a: '1', c: '3' });
  assert.deepEqual(records.fresh(['a', '1', 'A', '2']), { a: '1, 2' });
  assert.deepEqual(records.fresh(['a', '1', 'A', '3']), { a: '1, 3' });
  assert.deepEqual(records.fresh(['Cookie', 'x', 'cookie', 'y']), { cookie: '[redacted]' });
});

test('of(): an equal list gives the same frozen record; a changed value gives a new one', () => {
  const records = new RedactedHeaderRecords(redact);
  const first = records.of(['content-type', 'text/plain', 'set-cookie', 's=1']);
  assert.deepEqual(first, { 'content-type': 'text/plain', 'set-cookie': '[redacted]' });
  assert.ok(Object.isFrozen(first));
  assert.equal(records.of(['content-type', 'text/plain', 'set-cookie', 's=1']), first);
  const second = records.of(['content-type', 'text/html', 'set-cookie', 's=1']);
  assert.notEqual(second, first);
  assert.deepEqual(second, { 'content-type': 'text/html', 'set-cookie': '[redacted]' });
});
