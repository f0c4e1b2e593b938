import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventToJSON } from '../../src/events/envelope.js';
import { createHost } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';
import { BodyRenderer } from '../../src/targets/body-format.js';
import { eventRecord } from '../../src/targets/router.js';

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
