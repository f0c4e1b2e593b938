import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MISSING, compileTemplate, lookup, lookupIn } from '../../src/entry/events.js';
import { createHost, silentLogger } from '../../src/index.js';

const SECRET = 'tok-SECRET-abcdefghijkl';

async function sampleEvent() {
  const host = createHost({ logger: silentLogger(), events: [{ id: '7', name: 'seven' }] });
  const event = await host.emit('7', {
    data: { path: '/a/b.txt', Mixed_Case: 'yes', list: ['x', 'y'] },
    account: { uuid: 'u1', name: 'alice', token: SECRET, peer: { address: '198.51.100.7', port: 2222 } },
  });
  await host.close();
  return event;
}

test('context variables are looked up case-insensitively by dotted path', async () => {
  const event = await sampleEvent();
  assert.equal(lookup(event, 'data.path'), '/a/b.txt');
  assert.equal(lookup(event, 'DATA.PATH'), '/a/b.txt');
  assert.equal(lookup(event, 'Account.Peer.Address'), '198.51.100.7');
  assert.equal(lookup(event, 'account.peer.port'), 2222);
  assert.equal(lookup(event, 'data.mixed_case'), 'yes');
  assert.equal(lookup(event, 'DATA.FILE_NAME'), 'b.txt');
  assert.equal(lookup(event, 'Timestamp.ISO_8601'), event.timestamp.iso_8601);
  assert.equal(lookup(event, 'data.list.1'), 'y');
  assert.equal(lookup(event, 'data_json'), event.data_json);
});

test('unknown paths are MISSING, not undefined or an exception', async () => {
  const event = await sampleEvent();
  assert.equal(lookup(event, 'data.nope'), MISSING);
  assert.equal(lookup(event, 'nope.deeper.still'), MISSING);
  assert.equal(lookup(event, 'data.path.length.x'), MISSING);
  assert.equal(lookup(event, 'data.list.9'), MISSING);
  assert.equal(lookup(null, 'a'), MISSING);
});

test('account.token resolves only when the caller is granted it', async () => {
  const event = await sampleEvent();
  assert.equal(lookup(event, 'account.token'), MISSING);
  assert.equal(lookup(event, 'ACCOUNT.TOKEN'), MISSING);
  assert.equal(lookup(event, 'account.token', { grants: new Set(['account.token']) }), SECRET);
  assert.equal(lookup(event, 'Account.Token', { grants: new Set(['account.token']) }), SECRET);

  const template = compileTemplate({ auth: 'Bearer {{account.token}}', raw: '{{account.token}}' });
  assert.deepEqual(template.render([event]), { auth: 'Bearer {{account.token}}', raw: '{{account.token}}' });
  assert.deepEqual(template.render([event], { grants: new Set(['account.token']) }), { auth: `Bearer ${SECRET}`, raw: SECRET });
});

test('extra roots are consulted before the event', async () => {
  const event = await sampleEvent();
  assert.equal(lookupIn([{ callback_url: 'http://cb' }, event], 'callback_url'), 'http://cb');
  assert.equal(lookupIn([{ data: { path: 'override' } }, event], 'data.path'), 'override');
  assert.equal(lookupIn([{}, event], 'data.path'), '/a/b.txt');
});
