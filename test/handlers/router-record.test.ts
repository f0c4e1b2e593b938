import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventCopyJsonParts, eventCopyJsonText, eventJsonText, eventToJSON } from '../../src/events/event-json.js';
import { partsText } from '../helpers/event-json-parts.js';
import { toWorkerCopy } from '../../src/extensions/handler.js';
import { createHost } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';
import { BodyRenderer } from '../../src/webhooks/body-format.js';
import { eventRecord } from '../../src/handlers/router.js';

test('the router record is eventToJSON(event), and its json body is the text it was parsed from', async () => {
  const host = createHost({ logger: silentLogger() });
  try {
    const event = await host.emit('20200', {
      message: 'hello "world"',
      account: { name: 'alice', token: 'secret-token' },
      data: { path: '/in/ä.txt', size: 42, nested: { list: [1, 2, null], flag: true } },
    });
    const record = eventRecord(event);
    assert.deepEqual(record, eventToJSON(event));
    assert.equal(JSON.stringify(record).includes('secret-token'), false);
    const body = new BodyRenderer('json').text([record]);
    assert.equal(body, JSON.stringify(record));
    assert.deepEqual(JSON.parse(body), eventToJSON(event));
  } finally {
    await host.close();
  }
});

test('eventJsonText is JSON.stringify(event) for every kind of envelope', async () => {
  const host = createHost({
    logger: silentLogger(),
    server: { name: 'sftp-1', uuid: 'srv-uuid' },
    events: [{ id: '100', name: 'file-uploaded', groups: ['file', 'upload'], message: 'File {{data.path}} by {{account.name}}' }],
  });
  try {
    const inputs: Array<[string, Parameters<typeof host.emit>[1]]> = [
      ['100', {}],
      ['100', { data: { path: '/in/ä "q".txt', size: 1, deep: { a: [1, { b: null }], s: '\u2028\n' } } }],
      ['100', { account: { name: 'alice', uuid: 'u-1', email: 'a@x', token: 'secret', peer: { address: '::1', port: 22 } } }],
      ['100', { component: { name: 'sftp', type: 'ssh', uuid: 'c-1' }, message: 'custom', uuid: 'fixed-uuid', timestampMs: 1_700_000_000_123 }],
      ['20200', { data: { list: [] } }],
      // Everything data_json's escaping must get right: quotes, backslashes, escapes JSON.stringify made, raw and lone surrogates.
      ['100', { data: { q: 'say "hi" \\ C:\\dir\\', ctl: '\u0000\u0007\b\t\r\u001f', uni: '\ud83d\ude00 \ud800 \udfff', k: { 'a"b\\': 'x' } } }],
      ['100', { message: 'm "q" \\', data: { path: '\\\\server\\share' } }],
    ];
    for (const [id, input] of inputs) {
      const event = await host.emit(id, input);
      assert.equal(eventJsonText(event), JSON.stringify(event));
      // Twice: the cached parts (server, groups, process account, timestamp) give the same text again.
      assert.equal(eventJsonText(event), JSON.stringify(event));
      assert.equal(eventJsonText(event).includes('secret'), false);
      // An extension's worker copy (no data_json, no token): what the Python main process receives, byte for byte.
      assert.equal(eventCopyJsonText(event), JSON.stringify(toWorkerCopy(event, false)));
      assert.equal(partsText(event), JSON.stringify(toWorkerCopy(event, false)), 'its parts write the same bytes');
      assert.equal(eventCopyJsonText(event), JSON.stringify(toWorkerCopy(event, false)));
      assert.equal(partsText(event), JSON.stringify(toWorkerCopy(event, false)), 'its parts write the same bytes');
    }
    // Another host (its own server) and another entry under the same name get their own cached parts.
    const other = createHost({
      logger: silentLogger(),
      server: { name: 'sftp-2', uuid: 'srv-2' },
      events: [{ id: '101', name: 'file-uploaded', groups: ['other'] }],
    });
    try {
      for (const [h, id] of [[other, '101'], [host, '100'], [other, '101']] as const) {
        const event = await h.emit(id, { data: { n: 1 } });
        assert.equal(eventJsonText(event), JSON.stringify(event));
        assert.equal(eventCopyJsonText(event), JSON.stringify(toWorkerCopy(event, false)));
        assert.equal(partsText(event), JSON.stringify(toWorkerCopy(event, false)), 'its parts write the same bytes');
      }
    } finally {
      await other.close();
    }
    // Not built by the engine: serialised as is.
    const foreign = { id: 'x', extra: 1 } as unknown as Parameters<typeof eventJsonText>[0];
    assert.equal(eventJsonText(foreign), JSON.stringify(foreign));
    assert.equal(eventCopyJsonText(foreign), undefined);
    assert.equal(eventCopyJsonParts(foreign), undefined);
  } finally {
    await host.close();
  }
});
