// The console's data endpoints over a real gateway on 127.0.0.1, a real
// receiver and a real SQLite file: deliveries searched a page at a time,
// one delivery's attempts with the request and response as sent (secrets
// redacted), counts for a replay's progress, targets, and viewer access to
// these reads (actions keep their roles).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { send, startGateway, type TestGateway } from './gateway-helpers.js';

const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789' };
const as = (role: keyof typeof TOKENS) => ({ headers: { authorization: `Bearer ${TOKENS[role]}` } });
const SECRET_BEARER = 'Bearer sk-live-very-secret-1234';
const SECRET_KEY = 'api-key-very-secret-5678';

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

async function gateway(senderThread: boolean): Promise<TestGateway> {
  return startGateway({
    auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: role, role: role as 'viewer', token })) },
    // No circuit breaker: every failure here is meant to become a dead letter at once.
    delivery: { retry_schedule: [0], poll_interval: 0.05, sender_thread: senderThread, circuit_breaker: { failures: 0 } },
    ssrf: { allow: ['127.0.0.1/32'] },
    events: [{ id: '100', name: 'upload' }],
    handlers: [
      {
        type: 'webhook',
        name: 'hook',
        url: `${receiver.url}/in?key=${SECRET_KEY}`,
        actions: ['upload'],
        headers: { Authorization: SECRET_BEARER, 'X-Api-Key': SECRET_KEY, 'X-Plain': 'visible' },
      },
      { type: 'webhook', name: 'form', url: `${receiver.url}/form`, actions: ['upload'], format: 'form', payload: { path: '{{data.path}}' } },
    ],
  });
}

for (const senderThread of [true, false]) {
  test(`GET /v1/deliveries/:id (viewer) shows each attempt's request and response as sent, secrets redacted (sender thread: ${senderThread})`, async () => {
    receiver.respond((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain', 'x-reply': 'yes', 'set-cookie': 'sid=very-secret-cookie' }).end('down for a bit');
    });
    const g = await gateway(senderThread);
    try {
      const failed: unknown[] = [];
      g.runtime.host.on(ENGINE_EVENTS.deliveryFailed, (e) => void failed.push(e.data));
      await g.runtime.host.emit('100', { data: { path: '/a.txt' } });
      await waitFor(() => failed.length === 2, { what: 'both deliveries to fail' });

      const list = await send(g.url, 'GET', '/v1/deliveries?target=handler:hook', as('viewer'));
      assert.equal(list.status, 200);
      const [hook] = list.body['deliveries'] as Array<{ id: string }>;
      const detail = await send(g.url, 'GET', `/v1/deliveries/${hook?.id}`, as('viewer'));
      assert.equal(detail.status, 200);
      const attempts = detail.body['attempts'] as Array<Record<string, unknown>>;
      assert.ok(attempts.length >= 1);
      const a = attempts[0] as Record<string, unknown>;
      const sent = a['request_headers'] as Record<string, string>;
      assert.equal(sent['authorization'], '[redacted]');
      assert.equal(sent['x-api-key'], '[redacted]');
      assert.equal(sent['x-plain'], 'visible');
      assert.match(sent['webhook-id'] ?? '', /^msg_/);
      assert.equal(sent['content-type'], 'application/json');
      const got = a['response_headers'] as Record<string, string>;
      assert.equal(got['x-reply'], 'yes');
      assert.equal(got['set-cookie'], '[redacted]');
      assert.deepEqual([a['http_status'], a['response_body'], a['request_body_is_event'], a['request_body']], [503, 'down for a bit', true, null]);
      assert.equal(typeof a['duration_ms'], 'number');
      assert.match(String(a['started_at']), /^\d{4}-\d\d-\d\dT/);
      assert.match(String(a['error']), /answered 503/);
      const text = JSON.stringify(detail.body);
      for (const secret of ['sk-live-very-secret', SECRET_KEY, 'very-secret-cookie']) assert.equal(text.includes(secret), false, `no ${secret} in ${text}`);

      // A templated body (form) is kept as sent.
      const form = (await send(g.url, 'GET', '/v1/deliveries?target=handler:form', as('viewer'))).body['deliveries'] as Array<{ id: string }>;
      const formAttempt = ((await send(g.url, 'GET', `/v1/deliveries/${form[0]?.id}`, as('viewer'))).body['attempts'] as Array<Record<string, unknown>>)[0];
      assert.deepEqual([formAttempt?.['request_body'], formAttempt?.['request_body_is_event']], ['path=%2Fa.txt', false]);

      // Targets: depth, circuit, disabled, the URL redacted, the last attempts newest first.
      const targets = await send(g.url, 'GET', '/v1/targets', as('viewer'));
      assert.equal(targets.status, 200);
      const t = (targets.body['targets'] as Array<Record<string, unknown>>).find((x) => x['name'] === 'handler:hook');
      assert.ok(t, JSON.stringify(targets.body));
      assert.deepEqual([t['kind'], t['failed'], t['pending'], t['disabled'], typeof t['circuit']], ['webhook', 1, 0, false, 'string']);
      assert.equal(t['url'], `${receiver.url}/in?key=[redacted]`);
      const last = t['last_attempts'] as Array<Record<string, unknown>>;
      assert.ok(last.length >= 1 && last.length <= 5);
      assert.equal(last[0]?.['http_status'] ?? last[0]?.['httpStatus'], 503);
      assert.equal(JSON.stringify(targets.body).includes(SECRET_KEY), false);
      // Disable, then the target shows it with its reason.
      assert.equal((await send(g.url, 'POST', '/v1/deliveries/targets/handler:hook/disable', as('viewer'))).status, 403);
      assert.equal((await send(g.url, 'POST', '/v1/deliveries/targets/handler:hook/disable', as('operator'))).status, 200);
      const after = (await send(g.url, 'GET', '/v1/targets', as('viewer'))).body['targets'] as Array<Record<string, unknown>>;
      const off = after.find((x) => x['name'] === 'handler:hook');
      assert.deepEqual([off?.['disabled'], off?.['disabled_reason']], [true, 'disabled by operator']);
    } finally {
      receiver.respond((_req, res) => void res.writeHead(200).end('ok'));
      await g.close();
    }
  });
}

test('GET /v1/deliveries (viewer) pages with next_cursor and filters by state, target, event_id and time; counts show a replay (until) progressing', async () => {
  const g = await gateway(true);
  try {
    const delivery = g.runtime.services.delivery;
    assert.ok(delivery);
    let fixed = false;
    delivery.registerTarget({ name: 'fake', kind: 'webhook', attempt: async () => (fixed ? { ok: true, httpStatus: 200 } : { ok: false, retryable: false, httpStatus: 500 }) });
    const uuids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const uuid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      uuids.push(uuid);
      await delivery.enqueue([{ target: 'fake', eventJson: JSON.stringify({ id: '100', uuid, name: 'upload', data: { i } }) }]);
    }
    await waitFor(async () => (await delivery.admin.counts({ target: 'fake', since: 0 })).failed === 25, { what: '25 failed' });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await send(g.url, 'GET', `/v1/deliveries?target=fake&limit=10${cursor === null ? '' : `&cursor=${cursor}`}`, as('viewer'));
      assert.equal(page.status, 200);
      seen.push(...(page.body['deliveries'] as Array<{ id: string }>).map((d) => d.id));
      cursor = page.body['next_cursor'] as string | null;
      pages += 1;
    } while (cursor !== null && pages < 10);
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25, 'no delivery twice');
    assert.ok(pages >= 3);
    const all = (await send(g.url, 'GET', '/v1/deliveries?target=fake&limit=100', as('viewer'))).body['deliveries'] as Array<{ id: string; createdAt: number }>;
    assert.deepEqual(seen, all.map((d) => d.id), 'the pages are the list in order');

    const one = await send(g.url, 'GET', `/v1/deliveries?event_id=${uuids[7]}`, as('viewer'));
    assert.deepEqual((one.body['deliveries'] as Array<{ event: { data: { i: number } } }>).map((d) => d.event.data.i), [7]);
    assert.equal(((await send(g.url, 'GET', '/v1/deliveries?state=done&target=fake', as('viewer'))).body['deliveries'] as unknown[]).length, 0);
    const middle = all[12] as { createdAt: number };
    const window = await send(g.url, 'GET', `/v1/deliveries?target=fake&until=${middle.createdAt}&limit=200`, as('viewer'));
    assert.ok((window.body['deliveries'] as Array<{ createdAt: number }>).every((d) => d.createdAt <= middle.createdAt));
    const bad = await send(g.url, 'GET', '/v1/deliveries?cursor=nope', as('viewer'));
    assert.deepEqual([bad.status, bad.body['code']], [400, 'HKW_ERR_INVALID_ARGUMENT']);

    // Replay the window up to `until`: counts since the replay's start show its progress to the end.
    const since = (all.at(-1) as { createdAt: number }).createdAt;
    const until = middle.createdAt;
    const inWindow = all.filter((d) => d.createdAt >= since && d.createdAt <= until).length;
    fixed = true;
    assert.equal((await send(g.url, 'POST', '/v1/deliveries/replay', { ...as('viewer'), json: { target: 'fake', since, until } })).status, 403);
    const replay = await send(g.url, 'POST', '/v1/deliveries/replay', { ...as('operator'), json: { target: 'fake', since, until } });
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body['total'], inWindow);
    assert.equal(replay.body['until'], new Date(until).toISOString());
    const progress = `/v1/deliveries/counts?target=fake&since=${since}&until=${until}&changed_since=${encodeURIComponent(String(replay.body['started_at']))}`;
    await waitFor(async () => {
      const c = (await send(g.url, 'GET', progress, as('viewer'))).body as Record<string, number>;
      return (c['done'] as number) + (c['failed'] as number) === inWindow && c['pending'] === 0 && c['inflight'] === 0;
    }, { what: 'the replay to finish' });
    const whole = (await send(g.url, 'GET', `/v1/deliveries/counts?target=fake&since=${since}`, as('viewer'))).body;
    assert.deepEqual(whole, { pending: 0, inflight: 0, done: inWindow, failed: 25 - inWindow }, 'those after until were not replayed');
  } finally {
    await g.close();
  }
});
