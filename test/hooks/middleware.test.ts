import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHost, InvalidInputError, PermissionDeniedError, silentLogger } from '../../src/index.js';
import { Methods } from '../../src/hooks/middleware.js';

type Edit = (id: string, patch: { name?: string; role?: string }) => Promise<{ id: string; name?: string; role?: string }>;

function withEdit(): Methods {
  const methods = new Methods();
  methods.define<Edit>('users.edit', async (id, patch) => ({ id, ...patch }));
  return methods;
}

test('several middlewares per method run in onion order: first registered is outermost', async () => {
  const methods = withEdit();
  const trace: string[] = [];
  for (const name of ['outer', 'middle', 'inner']) {
    methods.use<Edit>('users.edit', async (next, id, patch) => {
      trace.push(`${name}:in`);
      const result = await next(id, patch);
      trace.push(`${name}:out`);
      return result;
    }, name);
  }
  await methods.call<Edit>('users.edit', 'u1', {});
  assert.deepEqual(trace, ['outer:in', 'middle:in', 'inner:in', 'inner:out', 'middle:out', 'outer:out']);
  assert.equal(methods.count('users.edit'), 3);
});

test('a middleware may rewrite the arguments', async () => {
  const methods = withEdit();
  methods.use<Edit>('users.edit', (next, id, patch) => next(id.toUpperCase(), { ...patch, name: patch.name?.trim() }));
  assert.deepEqual(await methods.call<Edit>('users.edit', 'u1', { name: '  ann ' }), { id: 'U1', name: 'ann' });
});

test('a middleware may answer without calling next (the method does not run)', async () => {
  const methods = new Methods();
  let ran = false;
  methods.define<Edit>('users.edit', async (id) => {
    ran = true;
    return { id };
  });
  methods.use<Edit>('users.edit', async (_next, id) => ({ id, name: 'cached' }));
  assert.deepEqual(await methods.call<Edit>('users.edit', 'u1', {}), { id: 'u1', name: 'cached' });
  assert.equal(ran, false);
});

test('a middleware may rewrite the result', async () => {
  const methods = withEdit();
  methods.use<Edit>('users.edit', async (next, id, patch) => {
    const result = await next(id, patch);
    return { ...result, role: 'redacted' };
  });
  assert.deepEqual(await methods.call<Edit>('users.edit', 'u1', { role: 'admin' }), { id: 'u1', role: 'redacted' });
});

test('a middleware may refuse with InvalidInputError carrying a per-field map', async () => {
  const methods = withEdit();
  methods.use<Edit>('users.edit', async (next, id, patch) => {
    if (patch.name === '') throw new InvalidInputError({ name: 'must not be empty', role: 'unknown role' });
    return next(id, patch);
  });
  await assert.rejects(methods.call<Edit>('users.edit', 'u1', { name: '' }), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.code, 'HKW_ERR_INVALID_INPUT');
    assert.equal(err.statusCode, 400);
    assert.deepEqual(err.fields, { name: 'must not be empty', role: 'unknown role' });
    assert.deepEqual(err.toJSON(), {
      code: 'HKW_ERR_INVALID_INPUT',
      message: 'Invalid input: name: must not be empty; role: unknown role',
      fields: { name: 'must not be empty', role: 'unknown role' },
    });
    return true;
  });
});

test('a middleware may refuse with PermissionDeniedError', async () => {
  const methods = withEdit();
  methods.use<Edit>('users.edit', async (next, id, patch) => {
    if (patch.role === 'admin') throw new PermissionDeniedError('Only superusers may grant admin.');
    return next(id, patch);
  });
  await assert.rejects(methods.call<Edit>('users.edit', 'u1', { role: 'admin' }), {
    code: 'HKW_ERR_PERMISSION_DENIED',
    statusCode: 403,
    message: 'Only superusers may grant admin.',
  });
  assert.deepEqual(await methods.call<Edit>('users.edit', 'u1', { role: 'user' }), { id: 'u1', role: 'user' });
});

test('synchronous methods and middleware stay synchronous', () => {
  const methods = new Methods();
  methods.define('math.double', (n: number) => n * 2);
  methods.use<(n: number) => number>('math.double', (next, n) => next(n + 1) + 1);
  assert.equal(methods.call<(n: number) => number>('math.double', 3), 9);
});

test('middleware registered before the method is defined still wraps it', async () => {
  const methods = new Methods();
  methods.use<(s: string) => string>('echo', (next, s) => `[${next(s)}]`);
  assert.throws(() => methods.call('echo', 'x'), { code: 'HKW_ERR_UNKNOWN_HOOK_POINT' });
  methods.define('echo', (s: string) => s);
  assert.equal(methods.call<(s: string) => string>('echo', 'x'), '[x]');
});

test('disposing a middleware unwraps it; disposers are idempotent', () => {
  const methods = new Methods();
  methods.define('echo', (s: string) => s);
  const offA = methods.use<(s: string) => string>('echo', (next, s) => `a(${next(s)})`);
  const offB = methods.use<(s: string) => string>('echo', (next, s) => `b(${next(s)})`);
  assert.equal(methods.call('echo', 'x'), 'a(b(x))');
  offA();
  offA();
  assert.equal(methods.call('echo', 'x'), 'b(x)');
  offB();
  assert.equal(methods.call('echo', 'x'), 'x');
});

test('calling an undefined method is an error naming it; a redefined method keeps its middleware', () => {
  const methods = new Methods();
  methods.define('a', () => 1);
  assert.throws(() => methods.call('b'), { code: 'HKW_ERR_UNKNOWN_HOOK_POINT', message: /"b".*Known methods: a/ });
  methods.use<() => number>('a', (next) => next() + 100);
  const off = methods.define('a', () => 2);
  assert.equal(methods.call('a'), 102);
  off();
  assert.equal(methods.has('a'), false);
});

test('through the host: define, use, call and method(), owned by scopes', async () => {
  const host = createHost<{ methods: { 'users.edit': Edit } }>({ logger: silentLogger() });
  host.define('users.edit', async (id, patch) => ({ id, ...patch }));
  const plugin = host.scope('plugin:audit');
  const audited: string[] = [];
  plugin.use('users.edit', async (next, id, patch) => {
    audited.push(id);
    return next(id, patch);
  });
  const edit = host.method('users.edit');
  assert.deepEqual(await edit('u1', { name: 'x' }), { id: 'u1', name: 'x' });
  assert.deepEqual(await host.call('users.edit', 'u2', {}), { id: 'u2' });
  assert.deepEqual(audited, ['u1', 'u2']);
  await plugin.dispose();
  await host.call('users.edit', 'u3', {});
  assert.deepEqual(audited, ['u1', 'u2'], 'the unloaded plugin no longer wraps the method');
  await host.close();
});
