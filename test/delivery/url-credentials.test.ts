// A webhook URL with credentials (http://user:secret@host/…) fails: the
// password shows nowhere an operator reads (admin API, attempts, CLI, the
// delivery-failed event).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { runShow, type CliIo } from '../../src/cli/commands/deliveries.js';
import { stripUrlCredentials } from '../../src/delivery/redact-url.js';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import { startGateway } from '../server/gateway-helpers.js';
import { waitFor } from '../helpers/wait-for.js';

const OPERATOR = 'operator-token-0123456789';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('stripUrlCredentials replaces the user and password of every URL in a text, and leaves other text as is', () => {
  assert.equal(stripUrlCredentials('GET http://user:pw@h:1/x failed'), 'GET http://***@h:1/x failed');
  assert.equal(stripUrlCredentials('a https://tok@h/x and ftp://u:p@q/'), 'a https://***@h/x and ftp://***@q/');
  assert.equal(stripUrlCredentials('mail alice@example.com, see http://h/a@b'), 'mail alice@example.com, see http://h/a@b');
  const plain = 'connect ECONNREFUSED 127.0.0.1:9';
  assert.equal(stripUrlCredentials(plain), plain);
});

for (const allowLoopback of [false, true]) {
  test(`a webhook to http://user:secret@127.0.0.1:<closed port>/x fails (${allowLoopback ? 'connection refused' : 'SSRF refusal'}); no "secret" in the delivery, its attempts, the CLI or the 20520 event`, async () => {
    const port = await closedPort();
    const gw = await startGateway({
      auth: { tokens: [{ name: 'ops', role: 'operator', token: OPERATOR }] },
      delivery: { retry_schedule: [0], poll_interval: 0.05 },
      events: [{ id: '100', name: 'upload' }],
      ...(allowLoopback ? { ssrf: { allow: ['127.0.0.1/32'] } } : {}),
      handlers: [{ type: 'webhook', name: 'creds', url: `http://user:secret@127.0.0.1:${port}/x`, actions: ['upload'] }],
    });
    try {
      const delivery = gw.runtime.services.delivery;
      assert.ok(delivery);
      const failed: unknown[] = [];
      gw.runtime.host.on(ENGINE_EVENTS.deliveryFailed, (e) => void failed.push(e.data));
      await gw.runtime.host.emit('100', { data: { path: '/a' } });
      await waitFor(() => failed.length === 1, { what: 'the delivery-failed event' });
      const [stored] = await delivery.store.list();
      assert.ok(stored?.lastError, 'the failure is recorded');
      const res = await request(`${gw.url}/v1/deliveries/${stored.id}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
      const text = await res.body.text();
      assert.equal(res.statusCode, 200);
      assert.match(text, /"lastError"/);
      assert.match(text, /"attempts":\[\{/);
      assert.equal(text.includes('secret'), false, `no password in the detail: ${text}`);
      assert.equal(JSON.stringify(failed).includes('secret'), false, `no password in the event: ${JSON.stringify(failed)}`);
      const config = join(gw.runtime.dataDir, '..', 'cli.json');
      writeFileSync(config, JSON.stringify({ log_level: 'silent', server: { data_dir: gw.runtime.dataDir }, store: { url: 'sqlite:hookwork.db' } }));
      for (const json of [false, true]) {
        const lines: string[] = [];
        const io: CliIo = { out: (l) => void lines.push(l), err: (l) => void lines.push(l), progress: undefined };
        assert.equal(await runShow(stored.id, { config, json }, io), 0);
        const shown = lines.join('\n');
        assert.match(shown, /127\.0\.0\.1/);
        assert.equal(shown.includes('secret'), false, `no password in deliveries show${json ? ' --json' : ''}: ${shown}`);
      }
    } finally {
      await gw.close();
    }
  });
}
