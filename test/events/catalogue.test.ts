import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { z } from 'zod';
import { EventCatalogue } from '../../src/entry/events.js';
import {
  InvalidArgumentError,
  InvalidEventDataError,
  UnknownEventError,
  createHost,
  createLogger,
  silentLogger,
} from '../../src/index.js';

test('emitting an id that is not in the catalogue is an error naming the id', async (t) => {
  const host = createHost({ logger: silentLogger(), events: [{ id: '1', name: 'one' }] });
  t.after(() => host.close());
  const seen: string[] = [];
  host.on('*', (event) => {
    seen.push(event.id);
  });
  await assert.rejects(host.emit('99999'), (err: unknown) => {
    assert.ok(err instanceof UnknownEventError);
    assert.equal(err.code, 'HKW_ERR_UNKNOWN_EVENT');
    assert.equal(err.statusCode, 400);
    assert.equal(err.eventId, '99999');
    assert.match(err.message, /"99999"/);
    return true;
  });
  await host.idle();
  assert.deepEqual(seen, [], 'nothing was dispatched');
});

test('strict: false turns an unknown id into a warning and emits it', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const host = createHost({ logger: createLogger({ level: 'warn', destination: sink }), strict: false });
  t.after(() => host.close());
  assert.equal(host.strict, false);
  const seen: string[] = [];
  host.on('custom-1', (event) => {
    seen.push(event.message);
  });
  const event = await host.emit('custom-1', { message: 'free form', data: { a: 1 } });
  assert.equal(event.id, 'custom-1');
  assert.equal(event.name, 'custom-1');
  await host.idle();
  assert.deepEqual(seen, ['free form']);
  const warning = lines.map((line) => JSON.parse(line) as { level: number; msg: string; event?: string }).find((l) => l.event === 'custom-1');
  assert.ok(warning, 'a warning names the id');
  assert.equal(warning.level, 40);
  assert.match(warning.msg, /custom-1/);
});

test("an event's data is validated against its schema", async (t) => {
  const host = createHost({
    logger: silentLogger(),
    events: [
      {
        id: '30001',
        name: 'upload',
        schema: z.object({ path: z.string().min(1), file_size: z.number().int().nonnegative() }),
      },
    ],
  });
  t.after(() => host.close());
  await assert.rejects(host.emit('30001', { data: { path: '', file_size: -1 } }), (err: unknown) => {
    assert.ok(err instanceof InvalidEventDataError);
    assert.equal(err.code, 'HKW_ERR_INVALID_EVENT_DATA');
    assert.equal(err.eventId, '30001');
    assert.equal(err.problems.length, 2);
    assert.ok(err.problems.some((p) => p.startsWith('path:')));
    assert.ok(err.problems.some((p) => p.startsWith('file_size:')));
    return true;
  });
  const ok = await host.emit('30001', { data: { path: '/a', file_size: 1 } });
  assert.equal(ok.data['file_name'], 'a');
});

test('data must be an object', async (t) => {
  const host = createHost({ logger: silentLogger(), events: [{ id: '1', name: 'one' }] });
  t.after(() => host.close());
  for (const data of [[1, 2], 'text', 5, true]) {
    await assert.rejects(host.emit('1', { data: data as never }), InvalidEventDataError);
  }
});

test('the message is rendered from the catalogue template unless given', async (t) => {
  const host = createHost({
    logger: silentLogger(),
    events: [{ id: '20', name: 'login', groups: ['auth'], message: '{{account.name}} from {{account.peer.address}}: {{data.unknown}}' }],
  });
  t.after(() => host.close());
  const event = await host.emit('20', { account: { uuid: 'u', name: 'bob', peer: { address: '203.0.113.5' } } });
  assert.equal(event.message, 'bob from 203.0.113.5: {{data.unknown}}');
  assert.deepEqual(event.groups, ['auth']);
  const given = await host.emit('20', { message: 'explicit' });
  assert.equal(given.message, 'explicit');
});

test('catalogue declarations are checked and the engine events are always there', async (t) => {
  const catalogue = new EventCatalogue();
  assert.throws(() => catalogue.declare({ id: '', name: 'x' }), InvalidArgumentError);
  assert.throws(() => catalogue.declare({ id: '1', name: '' }), InvalidArgumentError);
  catalogue.declare([{ id: '1', name: 'one', groups: ['g'] }]);
  assert.equal(catalogue.get('1')?.name, 'one');
  assert.equal(catalogue.has('2'), false);

  const host = createHost({ logger: silentLogger() });
  t.after(() => host.close());
  for (const id of ['20000', '20200', '20201', '20202', '20174']) assert.ok(host.catalogue.has(id), id);
  assert.deepEqual(host.catalogue.get('20202')?.groups.includes('failure'), true);
});
