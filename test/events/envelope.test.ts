import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { PEER_ACCOUNT_UUID, PROCESS_ACCOUNT_UUID } from '../../src/entry/events.js';
import {
  createHost,
  createLogger,
  eventToJSON,
  silentLogger,
} from '../../src/index.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET = 'tok-SECRET-123456789';

function newHost() {
  return createHost({
    logger: silentLogger(),
    server: { name: 'sftp-1', uuid: 'srv-uuid' },
    events: [{ id: '100', name: 'file-uploaded', groups: ['file'], message: 'File {{data.path}} by {{account.name}}' }],
  });
}

test('the envelope has every documented member', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const event = await host.emit('100', {
    data: { path: '/home/alice/report.pdf', size: 42 },
    account: {
      uuid: 'acc-1',
      name: 'alice',
      email: 'alice@example.com',
      emails: [['Alice', 'alice@example.com']],
      token: SECRET,
      peer: { address: '192.0.2.10', port: 50022, protocol: 'TCP' },
    },
    component: { uuid: 'cmp-1', name: 'sftp', type: 'ssh' },
    timestampMs: 1510742418234,
  });
  assert.equal(event.id, '100');
  assert.equal(event.name, 'file-uploaded');
  assert.deepEqual(event.groups, ['file']);
  assert.match(event.uuid, UUID_RE);
  assert.equal(event.message, 'File /home/alice/report.pdf by alice');
  assert.equal(event.account.uuid, 'acc-1');
  assert.equal(event.account.name, 'alice');
  assert.equal(event.account.email, 'alice@example.com');
  assert.deepEqual(event.account.emails, [['Alice', 'alice@example.com']]);
  assert.equal(event.account.token, SECRET);
  assert.deepEqual({ ...event.account.peer }, { address: '192.0.2.10', port: 50022, protocol: 'TCP', family: 'IPv4' });
  assert.deepEqual({ ...event.component }, { uuid: 'cmp-1', name: 'sftp', type: 'ssh' });
  assert.deepEqual({ ...event.server }, { uuid: 'srv-uuid', name: 'sftp-1' });
  assert.equal(event.timestamp.timestamp, 1510742418.234);
  assert.equal(event.timestamp.iso_8601, '2017-11-15T10:40:18Z');
  assert.equal(event.data['path'], '/home/alice/report.pdf');
  assert.equal(event.data_json, JSON.stringify(event.data));
  assert.deepEqual(JSON.parse(event.data_json), {
    path: '/home/alice/report.pdf',
    size: 42,
    file_name: 'report.pdf',
    directory_name: '/home/alice',
  });
});

test('an event without account or component gets the process account and empty component', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const event = await host.emit('100', { data: {} });
  assert.equal(event.account.uuid, PROCESS_ACCOUNT_UUID);
  assert.equal(event.account.name, 'process');
  assert.equal(event.account.token, undefined);
  assert.equal(event.account.peer.family, 'IPv4');
  assert.equal(event.component.name, '');
  assert.notEqual(PEER_ACCOUNT_UUID, PROCESS_ACCOUNT_UUID);
  const v6 = await host.emit('100', { account: { uuid: PEER_ACCOUNT_UUID, peer: { address: '2001:db8::1', port: 22 } } });
  assert.equal(v6.account.peer.family, 'IPv6');
  assert.equal(v6.account.uuid, PEER_ACCOUNT_UUID);
});

test('every event gets its own uuid; a given uuid is kept', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const uuids = new Set<string>();
  for (let i = 0; i < 50; i++) uuids.add((await host.emit('100', { data: { n: i } })).uuid);
  assert.equal(uuids.size, 50);
  for (const uuid of uuids) assert.match(uuid, UUID_RE);
  const kept = await host.emit('100', { uuid: 'replayed-uuid' });
  assert.equal(kept.uuid, 'replayed-uuid');
});

test('the envelope is deeply frozen and the caller cannot alter it afterwards', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const data = { path: '/a/b.txt', nested: { list: [1, 2, { deep: 'x' }] } };
  const emails: Array<[string, string]> = [['A', 'a@example.com']];
  const event = await host.emit('100', { data, account: { name: 'a', uuid: 'u', emails } });

  data.path = '/changed';
  data.nested.list.push(3);
  (data.nested.list[2] as { deep: string }).deep = 'changed';
  emails[0]![1] = 'changed@example.com';
  assert.equal(event.data['path'], '/a/b.txt');
  assert.deepEqual(event.data['nested'], { list: [1, 2, { deep: 'x' }] });
  assert.equal(event.account.emails?.[0]?.[1], 'a@example.com');

  for (const node of [event, event.account, event.account.peer, event.component, event.server, event.timestamp, event.data, event.data['nested'], (event.data['nested'] as { list: unknown[] }).list, event.account.emails]) {
    assert.ok(Object.isFrozen(node));
  }
  assert.throws(() => {
    (event as unknown as Record<string, unknown>)['message'] = 'x';
  }, TypeError);
  assert.throws(() => {
    (event.data as Record<string, unknown>)['path'] = 'x';
  }, TypeError);
  assert.throws(() => {
    ((event.data['nested'] as { list: unknown[] }).list).push(9);
  }, TypeError);
  assert.throws(() => {
    (event.account as unknown as Record<string, unknown>)['token'] = 'stolen';
  }, TypeError);
});

test('file_name/directory_name and real_… are derived from data.path and data.real_path', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const event = await host.emit('100', { data: { path: '/virtual/dir/file.txt', real_path: '/srv/data/alice/dir/file.txt' } });
  assert.equal(event.data['file_name'], 'file.txt');
  assert.equal(event.data['directory_name'], '/virtual/dir');
  assert.equal(event.data['real_file_name'], 'file.txt');
  assert.equal(event.data['real_directory_name'], '/srv/data/alice/dir');

  const windows = await host.emit('100', { data: { path: 'C:\\Users\\alice\\doc.txt' } });
  assert.equal(windows.data['file_name'], 'doc.txt');
  assert.equal(windows.data['directory_name'], 'C:\\Users\\alice');

  const explicit = await host.emit('100', { data: { path: '/a/b.txt', file_name: 'given' } });
  assert.equal(explicit.data['file_name'], 'given', 'a member the host sets itself is kept');

  const none = await host.emit('100', { data: { other: 1 } });
  assert.equal(none.data['file_name'], undefined);
  assert.equal(none.data['directory_name'], undefined);
});

test('account.token never appears in JSON, util.inspect or eventToJSON unless granted', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const event = await host.emit('100', { data: { path: '/x' }, account: { uuid: 'u', name: 'alice', token: SECRET } });
  assert.equal(event.account.token, SECRET, 'the host itself can read it');
  assert.ok(!JSON.stringify(event).includes(SECRET));
  assert.ok(!inspect(event, { depth: 10 }).includes(SECRET));
  assert.ok(!inspect(event, { depth: 10, showHidden: false }).includes('token'));
  assert.ok(!Object.keys(event.account).includes('token'));
  assert.ok(!JSON.stringify({ ...event.account }).includes(SECRET));
  assert.ok(!JSON.stringify(structuredClone(event)).includes(SECRET), 'worker copies drop it too');

  const plain = eventToJSON(event);
  assert.equal((plain['account'] as Record<string, unknown>)['token'], undefined);
  assert.ok(!JSON.stringify(plain).includes(SECRET));
  const granted = eventToJSON(event, { grantToken: true });
  assert.equal((granted['account'] as Record<string, unknown>)['token'], SECRET);
});

test('account.token never appears in the logs', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const host = createHost({ logger, strict: false, events: [{ id: '1', name: 'one' }] });
  host.on('1', () => {
    throw new Error('subscriber failure');
  });
  const event = await host.emit('1', { account: { uuid: 'u', name: 'alice', token: SECRET } });
  logger.info({ event }, 'an event');
  logger.info({ account: event.account, token: SECRET }, 'explicit');
  await host.emit('not-declared', { account: { uuid: 'u', name: 'alice', token: SECRET } });
  await host.idle();
  await host.close();
  const all = lines.join('');
  assert.ok(all.includes('an event'));
  assert.ok(all.includes('alice'));
  assert.ok(!all.includes(SECRET));
});

test('data must be JSON-shaped: a Map, Set, class instance, buffer, function, bigint or NaN is refused with its path', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  class Quota {
    used = 1;
  }
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ tags: new Map([['a', 1]]) }, /"data\.tags" is a Map .*Object\.fromEntries/],
    [{ nested: { list: [1, { seen: new Set([1]) }] } }, /"data\.nested\.list\.1\.seen" is a Set/],
    [{ quota: new Quota() }, /"data\.quota" is an instance of Quota/],
    [{ body: Buffer.from('x') }, /"data\.body" is binary data \(Buffer\)/],
    [{ cb: () => 1 }, /"data\.cb" is a function/],
    [{ size: 10n }, /"data\.size" is a bigint/],
    [{ ratio: Number.NaN }, /"data\.ratio" is NaN/],
    [{ when: new Date(Number.NaN) }, /"data\.when" is an invalid Date/],
  ];
  for (const [data, message] of cases) {
    await assert.rejects(host.emit('100', { data }), { name: 'InvalidArgumentError', code: 'HKW_ERR_INVALID_ARGUMENT', message }, String(message));
  }
  await assert.rejects(host.emit('100', { data: new Map() as never }), { code: 'HKW_ERR_INVALID_ARGUMENT', message: /"data" is a Map/ });
  const circular: Record<string, unknown> = { a: 1 };
  circular['self'] = circular;
  await assert.rejects(host.emit('100', { data: circular }), { code: 'HKW_ERR_INVALID_ARGUMENT', message: /circular/ });
});

test('JSON-shaped data is kept as given: dates become ISO strings, null-prototype objects and "__proto__" members are plain members', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: 'v' });
  const parsed = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>;
  const event = await host.emit('100', {
    data: { at: new Date(Date.UTC(2025, 0, 31, 12)), bare, parsed, list: [null, true, 'x', 1.5], missing: undefined },
  });
  assert.equal(event.data['at'], '2025-01-31T12:00:00.000Z');
  assert.deepEqual({ ...(event.data['bare'] as object) }, { k: 'v' });
  const copy = event.data['parsed'] as Record<string, unknown>;
  assert.deepEqual(Object.keys(copy), ['__proto__', 'ok']);
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.equal((copy as { polluted?: unknown }).polluted, undefined);
  assert.deepEqual(JSON.parse(event.data_json), {
    at: '2025-01-31T12:00:00.000Z',
    bare: { k: 'v' },
    parsed: { ['__proto__']: { polluted: true }, ok: 1 },
    list: [null, true, 'x', 1.5],
  });
});

test('envelopes share one data_json getter and their default account and component (one hidden class, no closure per event)', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const a = await host.emit('100', { data: { path: '/in/a.txt' } });
  const b = await host.emit('100', { data: { path: '/in/b.txt', size: 2 } });
  const getter = (e: object) => Object.getOwnPropertyDescriptor(e, 'data_json')?.get;
  assert.equal(typeof getter(a), 'function');
  assert.equal(getter(a), getter(b));
  assert.equal(a.account, b.account);
  assert.equal(a.component, b.component);
  assert.equal(a.data_json, JSON.stringify(a.data));
  assert.equal(b.data_json, JSON.stringify(b.data));
  assert.deepEqual(Object.keys(a), ['id', 'uuid', 'name', 'groups', 'message', 'account', 'component', 'server', 'timestamp', 'data', 'data_json']);
});

test('events emitted with the same component share one frozen component; a changed one gets its own', async (t) => {
  const host = newHost();
  t.after(() => host.close());
  const component = { uuid: 'cmp-1', name: 'sftp', type: 'ssh' };
  const a = await host.emit('100', { component });
  const b = await host.emit('100', { component: { ...component } });
  assert.equal(a.component, b.component);
  assert.ok(Object.isFrozen(a.component));
  component.name = 'ftps';
  const c = await host.emit('100', { component });
  assert.notEqual(c.component, a.component);
  assert.deepEqual({ ...c.component }, { uuid: 'cmp-1', name: 'ftps', type: 'ssh' });
  assert.deepEqual({ ...a.component }, { uuid: 'cmp-1', name: 'sftp', type: 'ssh' });
  const d = await host.emit('100', { component: { name: 'sftp' } });
  assert.deepEqual({ ...d.component }, { uuid: '00000000-0000-0000-0000-000000000000', name: 'sftp', type: '' });
  assert.equal(JSON.stringify(b), JSON.stringify({ ...b, component: { uuid: 'cmp-1', name: 'sftp', type: 'ssh' } }));
});
