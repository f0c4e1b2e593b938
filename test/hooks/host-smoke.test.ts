import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHost, deny, silentLogger } from '../../src/index.js';

test('emit reaches a subscriber after emit() returns', async () => {
  const host = createHost({ logger: silentLogger(), events: [{ id: '100', name: 'uploaded', message: 'File {{data.path}}' }] });
  const seen: string[] = [];
  host.on('100', (event) => {
    seen.push(event.message);
  });
  const event = await host.emit('100', { data: { path: '/a/b.txt' } });
  await host.idle();
  assert.deepEqual(seen, ['File /a/b.txt']);
  assert.equal(event.data['file_name'], 'b.txt');
  await host.close();
});

test('gate denies', async () => {
  const host = createHost({ logger: silentLogger() });
  host.onGate('pre-upload', () => deny('no'));
  assert.deepEqual(await host.gate('pre-upload', {}), { verdict: 'deny', reason: 'no', by: 'host' });
  await host.close();
});
