import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { validateConfigSources } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { useReceiver } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { waitFor } from '../helpers/wait-for.js';
import { handlerProblems } from '../config/helpers.js';

const fixture = (name: string): string => resolve(import.meta.dirname, '../fixtures', name);
const receiver = useReceiver();

test('routing: filters pick the events; one delivery per target is enqueued before emit returns', async (t) => {
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload' }, { id: '200', name: 'login' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [
      { type: 'webhook', name: 'alice-only', url: `${receiver.url}/alice`, target_events: ['100'], target_usernames: ['alice'] },
      { type: 'webhook', name: 'uploads', url: `${receiver.url}/uploads`, actions: ['upload'] },
    ],
  });
  const queue = runtime.services.delivery!;
  const enqueued: string[] = [];
  const original = queue.enqueue.bind(queue);
  // Counted once the store has the deliveries, so an emit that did not wait for the write fails here.
  queue.enqueue = async (list) => {
    const ids = await original(list);
    enqueued.push(...list.map((d) => d.target));
    return ids;
  };
  await runtime.host.emit('100', { account: { name: 'bob' }, data: { path: '/b' } });
  assert.deepEqual(enqueued, ['handler:uploads'], 'written to the store by the time emit returned');
  await runtime.host.emit('100', { account: { name: 'alice' }, data: { path: '/a' } });
  await runtime.host.emit('200', { account: { name: 'alice' } });
  assert.deepEqual(enqueued.sort(), ['handler:alice-only', 'handler:uploads', 'handler:uploads']);
  await receiver.waitFor(3);
});

test('a command run emits 20053; `then` chains get the parsed JSON output through the queue', async (t) => {
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [
      { type: 'command', name: 'count', command: fixture('json-out.sh'), args: ['{{account.name}}', '7'], output_format: 'json', actions: ['upload'], then: ['report'] },
      { type: 'webhook', name: 'report', url: `${receiver.url}/report/{{output.user}}`, payload: { count: '{{output.count}}', path: '{{data.path}}' }, target_events: ['nothing'] },
    ],
  });
  const reports: Array<Record<string, unknown>> = [];
  runtime.host.on('20053', (e) => void reports.push({ ...e.data }));
  await runtime.host.emit('100', { account: { name: 'dave' }, data: { path: '/x' } });
  const [req] = await receiver.waitFor(1);
  assert.equal(req?.url, '/report/dave');
  assert.deepEqual(JSON.parse(req?.body ?? '{}'), { count: 7, path: '/x' });
  await waitFor(() => reports.length === 1, { what: 'the 20053 event', timeoutMs: 5000 });
  assert.equal(reports[0]?.['handler'], 'handler:count');
  assert.equal(reports[0]?.['exit_code'], 0);
  assert.deepEqual(reports[0]?.['output'], { user: 'dave', count: 7, ok: true });
});

test('sync handlers run inline: done when emit returns', async (t) => {
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [{ type: 'webhook', name: 'now', url: `${receiver.url}/now`, actions: ['upload'], sync: true }],
  });
  await runtime.host.emit('100', { data: {} });
  assert.equal(receiver.requests.length, 1);
});

test('config checks: relative command, unknown placeholder, unknown then/action, bad CIDR and secret', () => {
  let error: unknown;
  try {
    validateConfigSources([
      {
        value: {
          ssrf: { allow: ['10.0.0.0/99'] },
          handlers: [
            { type: 'command', name: 'rel', command: 'bin/x' },
            { type: 'webhook', name: 'w', url: 'https://e.example', secrets: ['nope'] },
          ],
        },
      } as never,
    ]);
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const keys = error.problems.map((p) => p.key);
  assert.ok(keys.includes('handlers.0.command'), keys.join(','));
  assert.ok(keys.includes('handlers.1.secrets.0'), keys.join(','));
  assert.ok(keys.includes('ssrf.allow.0'), keys.join(','));
  try {
    validateConfigSources([
      {
        value: {
          handlers: [
            { type: 'command', name: 'a', command: '/bin/true', args: ['{{acount.name}}'], then: ['missing'], actions: ['pre-nothing'] },
          ],
        },
      } as never,
    ]);
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => p.key).sort(), ['handlers.0.actions.0', 'handlers.0.args.0', 'handlers.0.then.0']);
  }
});

test('config checks: a handler template reading {{account.token}} without the grant is a problem (it would go out literally)', () => {
  const problems = handlerProblems([
    { type: 'webhook', name: 'hook', url: 'https://e.example/x', headers: { Authorization: 'Bearer {{Account.Token}}' }, payload: { t: '{{account.token}}' } },
    { type: 'command', name: 'cmd', command: '/bin/echo', args: ['{{account.token}}'], env: { TOKEN: '{{account.token}}' } },
  ]);
  assert.deepEqual(problems.map((p) => p.key).sort(), ['handlers.0.headers.Authorization', 'handlers.0.payload', 'handlers.1.args.0', 'handlers.1.env.TOKEN']);
  assert.match(problems[0]?.message ?? '', /secret and renders only where it is granted; add "grants: \[account\.token\]" to handler "hook"/);
  // Granted: accepted.
  assert.deepEqual(
    handlerProblems([
      { type: 'webhook', name: 'hook', url: 'https://e.example/x', grants: ['account.token'], headers: { Authorization: 'Bearer {{account.token}}' } },
      { type: 'command', name: 'cmd', command: '/bin/echo', grants: ['account.token'], args: ['{{account.token}}'] },
    ]),
    [],
  );
  // Magpie webhooks: the same rule, with their own grants.
  const magpie = (webhooks: unknown[]): string[] => {
    try {
      validateConfigSources([{ value: { events: [{ id: '1', name: 'up' }], webhooks } } as never]);
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.map((p) => `${p.key}: ${p.message}`);
    }
  };
  const hook = { name: 'm', action: 'up', method: 'POST', url: 'https://e.example/{{account.token}}', payload: { t: '{{account.token}}' } };
  const refusedMagpie = magpie([hook]);
  assert.deepEqual(refusedMagpie.map((p) => p.split(':')[0]).sort(), ['webhooks.0.payload', 'webhooks.0.url']);
  assert.match(refusedMagpie[0] ?? '', /add "grants: \[account\.token\]" to webhook "m"/);
  assert.deepEqual(magpie([{ ...hook, grants: ['account.token'] }]), []);
});
