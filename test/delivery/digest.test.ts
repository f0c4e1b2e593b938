// Digests through the runtime: a webhook gets the JSON array of its batch,
// a command renders {{events}}, an e-mail {{count}} and {{events_list}};
// the count bound and the time bound each send; a digest without a bound
// (or with sync) is a config problem.

import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { useReceiver } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { CA_FILE, startSmtp } from '../helpers/smtp.js';
import { waitFor } from '../helpers/wait-for.js';
import { handlerProblems } from '../config/helpers.js';

const fixture = (name: string): string => resolve(import.meta.dirname, '../fixtures', name);
const receiver = useReceiver();

test('digest count bound: a webhook gets one JSON array per max_events events, in order; the rest waits', async (t) => {
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [{ type: 'webhook', name: 'batch', url: `${receiver.url}/batch`, actions: ['upload'], digest: { max_events: 3 } }],
  });
  for (let n = 0; n < 7; n++) await runtime.host.emit('100', { data: { n } });
  const requests = await receiver.waitFor(2);
  const bodies = requests.map((r) => (JSON.parse(r.body) as Array<{ id: string; data: { n: number } }>).map((e) => e.data.n));
  assert.deepEqual(bodies.sort((a, b) => (a[0] as number) - (b[0] as number)), [[0, 1, 2], [3, 4, 5]]);
  const heads = await runtime.services.delivery!.store.digestHeads!();
  assert.deepEqual(heads.map((h) => [h.target, h.count]), [['handler:batch', 1]], 'the seventh event is still collected');
  await runtime.host.emit('100', { data: { n: 7 } });
  await runtime.host.emit('100', { data: { n: 8 } });
  const third = (await receiver.waitFor(3))[2];
  assert.deepEqual((JSON.parse(third?.body ?? '[]') as Array<{ data: { n: number } }>).map((e) => e.data.n), [6, 7, 8]);
});

test('digest time bound: an e-mail with {{count}} and {{events_list}} once the oldest event waited `within`', async (t) => {
  const server = await startSmtp();
  t.after(() => server.close());
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload', message: 'uploaded {{data.path}}' }],
    handlers: [
      {
        type: 'email',
        name: 'daily',
        actions: ['upload'],
        smtp: { host: '127.0.0.1', port: server.port, ca_file: CA_FILE },
        from: 'hookwork@example.com',
        to: 'ops@example.com',
        subject: '{{count}} uploads',
        text: 'Uploads:\n{{events_list}}',
        html: '<p>{{events.0.data.path}} first</p>',
        digest: { max_events: 100, within: 0.2 },
      },
    ],
  });
  await runtime.host.emit('100', { data: { path: '/a' } });
  await runtime.host.emit('100', { data: { path: '/b' } });
  const [mail] = await server.waitFor(1);
  assert.equal(mail?.mail.subject, '2 uploads');
  assert.match(mail?.mail.text ?? '', /^Uploads:\n- \S+ uploaded \/a\n- \S+ uploaded \/b/);
  assert.equal(mail?.mail.html, '<p>/a first</p>');
});

test('digest for a command: {{events}} renders the JSON array of the batch', async (t) => {
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload' }],
    handlers: [
      { type: 'command', name: 'batch', command: fixture('env-value.sh'), args: ['EVENTS'], env: { EVENTS: '{{events}}' }, output_format: 'json', actions: ['upload'], digest: { max_events: 2 } },
    ],
  });
  const outputs: unknown[] = [];
  runtime.host.on('20053', (e) => void outputs.push(e.data['output']));
  await runtime.host.emit('100', { data: { n: 1 } });
  await runtime.host.emit('100', { data: { n: 2 } });
  await waitFor(() => outputs.length === 1, { what: 'the command run of the batch' });
  assert.deepEqual((outputs[0] as Array<{ data: { n: number } }>).map((e) => e.data.n), [1, 2]);
});

test('digest config: no bound, or with sync, is a problem; {{count}} is known only to digest handlers', () => {
  const none = handlerProblems([{ type: 'webhook', name: 'a', url: 'https://e.example/a', digest: {} }]);
  assert.deepEqual(none.map((p) => p.key), ['handlers.0.digest']);
  assert.match(none[0]?.message ?? '', /needs a bound/);
  const others = handlerProblems([
    { type: 'webhook', name: 'b', url: 'https://e.example/b', digest: { within: 60 }, sync: true },
    { type: 'command', name: 'c', command: '/bin/true', args: ['{{count}}'] },
    { type: 'command', name: 'd', command: '/bin/true', args: ['{{count}}', '{{events_list}}'], digest: { max_events: 5 } },
    { type: 'webhook', name: 'f', url: 'https://e.example/f', payload: { n: '{{count}}' }, digest: { within: 60 } },
  ]);
  assert.deepEqual(others.map((p) => p.key).sort(), ['handlers.0.digest', 'handlers.1.args.0', 'handlers.3.digest'], JSON.stringify(others));
  assert.deepEqual(handlerProblems([{ type: 'email', name: 'e', smtp: { host: 'mail.example.com' }, from: 'a@example.com', to: 'b@example.com', text: 'x', digest: { max_events: 2, within: 5 } }]), []);
});

test('digest: a granted account.token reaches the batch but the operator tools show it redacted', async (t) => {
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [{ type: 'webhook', name: 'batch', url: `${receiver.url}/batch`, actions: ['upload'], grants: ['account.token'], digest: { max_events: 2 } }],
  });
  await runtime.host.emit('100', { account: { name: 'a', token: 'tok-secret-1' }, data: {} });
  await runtime.host.emit('100', { account: { name: 'b', token: 'tok-secret-2' }, data: {} });
  const [request] = await receiver.waitFor(1);
  assert.deepEqual((JSON.parse(request?.body ?? '[]') as Array<{ account: { token: string } }>).map((e) => e.account.token), ['tok-secret-1', 'tok-secret-2']);
  const queue = runtime.services.delivery!;
  const [listed] = await queue.list({ target: 'handler:batch' });
  const shown = JSON.stringify([listed, (await queue.get(listed!.id)).delivery]);
  assert.ok(!shown.includes('tok-secret'), shown);
  assert.ok(shown.includes('[redacted]'));
});
