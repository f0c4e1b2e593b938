import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { block, deny, handled, type HookworkEvent } from '../../src/index.js';
import { TokenAuth } from '../../src/server/auth.js';
import { send, startGateway, type TestGateway } from './gateway-helpers.js';

const config = {
  events: [
    { id: 100, name: 'file-uploaded', groups: ['file'], message: 'Uploaded {{data.path}}' },
    {
      id: '101',
      name: 'sized',
      data_schema: { type: 'object', properties: { size: { type: 'integer' } }, required: ['size'] },
    },
  ],
  gates: { 'pre-upload': {}, 'pre-delete': {} },
  changes: { 'agent-status': { mode: 'exclusive' as const }, 'shared-data': {} },
};

describe('gateway host-facing routes (no tokens configured)', () => {
  let g: TestGateway;
  const seen: HookworkEvent[] = [];

  before(async () => {
    g = await startGateway(config);
    g.runtime.host.on('100', (event) => void seen.push(event));
    g.runtime.host.onGate('pre-upload', (ctx) => ((ctx as { path?: string }).path === '/secret' ? deny('no secrets') : undefined), {
      name: 'policy',
    });
    g.runtime.host.onGate('pre-delete', () => handled('moved to trash'), { name: 'trash' });
    g.runtime.host.scope('status-plugin').onChange('agent-status', ({ value }) =>
      value === 'offline' ? block('agents may not go offline') : String(value).toUpperCase(),
    );
    g.runtime.host.scope('blocker').onChange('shared-data', () => block());
  });
  after(() => g.close());

  test('GET /v1/health says ok with the server identity and uptime', async () => {
    const res = await send(g.url, 'GET', '/v1/health');
    assert.equal(res.status, 200);
    assert.equal(res.body['status'], 'ok');
    assert.deepEqual(res.body['server'], { uuid: g.runtime.host.server.uuid, name: 'hookwork' });
    assert.equal(typeof res.body['uptime'], 'number');
  });

  test('POST /v1/events emits and answers 202 with uuid and id', async () => {
    const res = await send(g.url, 'POST', '/v1/events', {
      json: {
        id: 100,
        data: { path: '/in/report.csv' },
        account: { uuid: 'u-1', name: 'alice', token: 'secret-token', peer: { address: '10.0.0.5', port: 2222, protocol: 'SFTP' } },
        component: { uuid: 'c-1', name: 'sftp', type: 'ssh' },
      },
    });
    assert.equal(res.status, 202);
    assert.equal(res.body['id'], '100');
    assert.match(String(res.body['uuid']), /^[0-9a-f-]{36}$/);
    await g.runtime.host.idle();
    const event = seen.find((e) => e.uuid === res.body['uuid']);
    assert.ok(event, 'the subscriber received the event');
    assert.equal(event.message, 'Uploaded /in/report.csv');
    assert.equal(event.data['file_name'], 'report.csv');
    assert.equal(event.account.name, 'alice');
    assert.equal(event.account.peer.address, '10.0.0.5');
    assert.equal(event.account.token, 'secret-token');
    assert.equal(Object.keys(event.account).includes('token'), false, 'the token stays non-enumerable');
    assert.equal(event.component.name, 'sftp');
  });

  test('POST /v1/events with a message override keeps it', async () => {
    const res = await send(g.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/x' }, message: 'custom' } });
    assert.equal(res.status, 202);
    await g.runtime.host.idle();
    assert.equal(seen.find((e) => e.uuid === res.body['uuid'])?.message, 'custom');
  });

  test('an unknown event id is a 400 that names it', async () => {
    const res = await send(g.url, 'POST', '/v1/events', { json: { id: '99999' } });
    assert.equal(res.status, 400);
    assert.equal(res.body['code'], 'HKW_ERR_UNKNOWN_EVENT');
    assert.match(String(res.body['message']), /"99999"/);
  });

  test('data that does not match the event schema is a 400 naming the field', async () => {
    const res = await send(g.url, 'POST', '/v1/events', { json: { id: '101', data: { size: 'big' } } });
    assert.equal(res.status, 400);
    assert.equal(res.body['code'], 'HKW_ERR_INVALID_EVENT_DATA');
    assert.match(String(res.body['message']), /size/);
  });

  test('wrong types, missing and unknown fields get a 400 with a per-field map', async () => {
    const res = await send(g.url, 'POST', '/v1/events', {
      json: { idd: 100, data: 'not an object', account: { peer: { port: 'x' } }, message: 5 },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body['code'], 'HKW_ERR_INVALID_INPUT');
    const fields = res.body['fields'] as Record<string, string>;
    assert.equal(fields['body.id'], 'is required');
    assert.equal(fields['body.idd'], 'is not a known field');
    assert.equal(fields['body.data'], 'must be an object');
    assert.match(fields['body.account.peer.port'] ?? '', /expected number/);
    assert.match(fields['body.message'] ?? '', /expected string/);
    assert.match(String(res.body['message']), /body\.id is required/);
  });

  test('an id of the wrong type is refused, not coerced', async () => {
    for (const id of [true, '', 1.5, null, { x: 1 }]) {
      const res = await send(g.url, 'POST', '/v1/events', { json: { id } });
      assert.equal(res.status, 400, `id ${JSON.stringify(id)}`);
      assert.equal((res.body['fields'] as Record<string, string>)['body.id'], 'must be a non-empty string or an integer');
    }
  });

  test('bad JSON is a 400', async () => {
    const res = await send(g.url, 'POST', '/v1/events', { body: '{"id": 100,', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.match(String(res.body['message']), /JSON/);
  });

  test('a body that is not JSON is a 415', async () => {
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const res = await send(g.url, 'POST', '/v1/events', { body: 'id=100', headers: { 'content-type': type } });
      assert.equal(res.status, 415, type);
      assert.match(String(res.body['message']), /application\/json/);
    }
    const none = await send(g.url, 'POST', '/v1/gates/pre-upload', { body: '{}' });
    assert.equal(none.status, 415);
  });

  test('a JSON body that is not an object, or no body at all, is a 400', async () => {
    const arr = await send(g.url, 'POST', '/v1/events', { json: [1, 2] });
    assert.equal(arr.status, 400);
    const empty = await send(g.url, 'POST', '/v1/events');
    assert.equal(empty.status, 400);
    assert.equal((empty.body['fields'] as Record<string, string>)['body'], 'is required');
  });

  test('prototype-poisoning bodies are refused', async () => {
    const res = await send(g.url, 'POST', '/v1/events', {
      body: '{"id": "100", "__proto__": {"polluted": true}}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('unknown routes and methods are a JSON 404', async () => {
    const res = await send(g.url, 'GET', '/v1/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.body['code'], 'HKW_ERR_NOT_FOUND');
    const wrongMethod = await send(g.url, 'GET', '/v1/events');
    assert.equal(wrongMethod.status, 404);
  });

  test('POST /v1/gates/:name returns allow, deny (reason, by) and handled', async () => {
    assert.deepEqual((await send(g.url, 'POST', '/v1/gates/pre-upload', { json: { path: '/ok' } })).body, { verdict: 'allow' });
    const denied = await send(g.url, 'POST', '/v1/gates/pre-upload', { json: { path: '/secret' } });
    assert.equal(denied.status, 200);
    assert.deepEqual(denied.body, { verdict: 'deny', reason: 'no secrets', by: 'policy' });
    const done = await send(g.url, 'POST', '/v1/gates/pre-delete', { json: {} });
    assert.deepEqual(done.body, { verdict: 'handled', reason: 'moved to trash', by: 'trash' });
  });

  test('an unknown gate is a 404 naming it', async () => {
    const res = await send(g.url, 'POST', '/v1/gates/pre-nothing', { json: {} });
    assert.equal(res.status, 404);
    assert.equal(res.body['code'], 'HKW_ERR_UNKNOWN_HOOK_POINT');
    assert.match(String(res.body['message']), /"pre-nothing"/);
  });

  test('a gate context that is not an object is a 400', async () => {
    const res = await send(g.url, 'POST', '/v1/gates/pre-upload', { json: 'hello' });
    assert.equal(res.status, 400);
    assert.equal(res.body['code'], 'HKW_ERR_INVALID_INPUT');
  });

  test('POST /v1/changes/:name returns the value to apply or the block', async () => {
    const changed = await send(g.url, 'POST', '/v1/changes/agent-status', { json: { old: 'online', value: 'away' } });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body, { blocked: false, value: 'AWAY' });
    const blocked = await send(g.url, 'POST', '/v1/changes/agent-status', { json: { value: 'offline' } });
    assert.equal(blocked.status, 200);
    assert.deepEqual(blocked.body, { blocked: true, reason: 'agents may not go offline', by: 'status-plugin' });
    const byDefault = await send(g.url, 'POST', '/v1/changes/shared-data', { json: { value: { a: 1 } } });
    assert.deepEqual(byDefault.body, { blocked: true, reason: 'Blocked by hook', by: 'blocker' });
  });

  test('a change with null as the value is valid; a missing value is a 400', async () => {
    const missing = await send(g.url, 'POST', '/v1/changes/agent-status', { json: { old: 'x' } });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body['fields'], { 'body.value': 'is required' });
    const extra = await send(g.url, 'POST', '/v1/changes/agent-status', { json: { value: 'a', new: 'b' } });
    assert.equal(extra.status, 400);
    assert.equal((extra.body['fields'] as Record<string, string>)['body.new'], 'is not a known field');
  });

  test('an unknown change point is a 404', async () => {
    const res = await send(g.url, 'POST', '/v1/changes/nothing', { json: { value: 1 } });
    assert.equal(res.status, 404);
    assert.equal(res.body['code'], 'HKW_ERR_UNKNOWN_HOOK_POINT');
  });

  test('after all the bad input the gateway is still healthy', async () => {
    const res = await send(g.url, 'GET', '/v1/health');
    assert.equal(res.status, 200);
  });
});

describe('gateway limits and failures', () => {
  test('a body over server.body_limit is a 413', async () => {
    const g = await startGateway({ ...config, server: { body_limit: 512 } });
    try {
      const big = await send(g.url, 'POST', '/v1/events', { json: { id: 100, data: { blob: 'x'.repeat(2048) } } });
      assert.equal(big.status, 413);
      assert.equal(big.body['code'], 'FST_ERR_CTP_BODY_TOO_LARGE');
      const small = await send(g.url, 'POST', '/v1/events', { json: { id: 100, data: { blob: 'x' } } });
      assert.equal(small.status, 202);
    } finally {
      await g.close();
    }
  });

  test('a gate that throws denies (fail-closed) with a 200 verdict, not a 500', async () => {
    const g = await startGateway(config);
    try {
      g.runtime.host.onGate(
        'pre-upload',
        () => {
          throw new Error('database down');
        },
        { name: 'broken' },
      );
      const res = await send(g.url, 'POST', '/v1/gates/pre-upload', { json: {} });
      assert.equal(res.status, 200);
      assert.equal(res.body['verdict'], 'deny');
      assert.equal(res.body['by'], 'broken');
      assert.match(String(res.body['reason']), /database down/);
    } finally {
      await g.close();
    }
  });

  test('an unexpected error is a 500 with a generic message, and the gateway keeps serving', async () => {
    const g = await startGateway(config);
    try {
      g.runtime.host.addEmitStage(() => {
        throw new Error('internal detail that must not leak');
      });
      const res = await send(g.url, 'POST', '/v1/events', { json: { id: 100 } });
      assert.equal(res.status, 500);
      assert.equal(res.body['code'], 'HKW_ERR_INTERNAL');
      assert.doesNotMatch(String(res.body['message']), /internal detail/);
      assert.equal((await send(g.url, 'GET', '/v1/health')).status, 200);
    } finally {
      await g.close();
    }
  });

  test('data is validated by the catalogue schema given as a zod schema too', async () => {
    const g = await startGateway(config);
    try {
      g.runtime.host.catalogue.declare({ id: 'zod-1', name: 'zod', schema: z.strictObject({ n: z.number() }) });
      assert.equal((await send(g.url, 'POST', '/v1/events', { json: { id: 'zod-1', data: { n: 1 } } })).status, 202);
      assert.equal((await send(g.url, 'POST', '/v1/events', { json: { id: 'zod-1', data: { n: 'x' } } })).status, 400);
    } finally {
      await g.close();
    }
  });
});

describe('gateway auth', () => {
  const tokens = {
    viewer: 'viewer-token-0123456789',
    operator: 'operator-token-0123456789',
    superuser: 'superuser-token-0123456789',
  };
  let g: TestGateway;

  before(async () => {
    g = await startGateway(
      {
        ...config,
        auth: {
          tokens: [
            { name: 'dash', role: 'viewer', token: tokens.viewer },
            { name: 'sftp-server', role: 'operator', token: tokens.operator },
            { name: 'admin', role: 'superuser', token: tokens.superuser },
          ],
        },
      },
      (gateway) => {
        const auth = new TokenAuth(gateway.runtime.config.auth);
        gateway.app.get('/v1/test/superuser-only', { onRequest: auth.require('superuser') }, async () => ({ ok: true }));
      },
    );
  });
  after(() => g.close());

  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  test('host-facing endpoints need a token once tokens are configured (401)', async () => {
    for (const [path, json] of [
      ['/v1/events', { id: 100 }],
      ['/v1/gates/pre-upload', {}],
      ['/v1/changes/shared-data', { value: 1 }],
    ] as const) {
      const res = await send(g.url, 'POST', path, { json });
      assert.equal(res.status, 401, path);
      assert.equal(res.body['code'], 'HKW_ERR_UNAUTHENTICATED');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    }
  });

  test('an unknown token is a 401, and auth comes before body validation', async () => {
    const res = await send(g.url, 'POST', '/v1/events', { json: { wrong: true }, headers: bearer('not-a-known-token-at-all') });
    assert.equal(res.status, 401);
  });

  test('a viewer is refused with 403; an operator and a superuser get through', async () => {
    const viewer = await send(g.url, 'POST', '/v1/events', { json: { id: 100 }, headers: bearer(tokens.viewer) });
    assert.equal(viewer.status, 403);
    assert.equal(viewer.body['code'], 'HKW_ERR_FORBIDDEN');
    assert.equal((await send(g.url, 'POST', '/v1/events', { json: { id: 100 }, headers: bearer(tokens.operator) })).status, 202);
    assert.equal(
      (await send(g.url, 'POST', '/v1/gates/pre-upload', { json: {}, headers: bearer(tokens.superuser) })).status,
      200,
    );
  });

  test('a superuser-only route refuses an operator (403) and admits a superuser', async () => {
    assert.equal((await send(g.url, 'GET', '/v1/test/superuser-only')).status, 401);
    assert.equal((await send(g.url, 'GET', '/v1/test/superuser-only', { headers: bearer(tokens.operator) })).status, 403);
    const ok = await send(g.url, 'GET', '/v1/test/superuser-only', { headers: bearer(tokens.superuser) });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { ok: true });
  });

  test('health stays open for probes', async () => {
    assert.equal((await send(g.url, 'GET', '/v1/health')).status, 200);
  });
});
