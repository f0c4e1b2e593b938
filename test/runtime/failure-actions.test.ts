import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { useReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { testRuntime } from '../helpers/runtime.js';
import { handlerProblems } from '../config/helpers.js';

const fixture = (name: string): string => resolve(import.meta.dirname, '../fixtures', name);
const receiver = useReceiver();

const base = {
  events: [{ id: '100', name: 'upload' }],
  ssrf: { allow: ['127.0.0.1/32'] },
  delivery: { retry_schedule: [0], poll_interval: 0.05 },
};
// A handler used only as an action of another one follows an id nothing emits.
const onlyAsAction = { target_events: ['never-emitted'] };
const alertPayload = {
  handler: '{{data.handler}}',
  error: '{{data.error}}',
  attempts: '{{data.attempts}}',
  path: '{{data.event.data.path}}',
  original: '{{data.event.id}}',
};

test('on_failure: a dead-lettered delivery runs the listed handlers, with the handler, error, attempts and original event', async (t) => {
  const runtime = await testRuntime(t, {
    ...base,
    handlers: [
      { type: 'command', name: 'archive', command: fixture('fail.sh'), args: ['3'], actions: ['upload'], on_failure: ['alert'] },
      { type: 'webhook', name: 'alert', url: `${receiver.url}/alert`, payload: alertPayload, ...onlyAsAction },
    ],
  });
  await runtime.host.emit('100', { data: { path: '/in/a.csv' } });
  const [req] = await receiver.waitFor(1);
  assert.equal(req?.url, '/alert');
  const body = JSON.parse(req?.body ?? '{}') as Record<string, unknown>;
  assert.equal(body['handler'], 'handler:archive');
  assert.match(String(body['error']), /exit|3/);
  assert.equal(body['attempts'], 1);
  assert.equal(body['path'], '/in/a.csv');
  assert.equal(body['original'], '100');
});

test('on_failure: a failed sync run runs the listed handlers (20174 carries attempts and the event)', async (t) => {
  const runtime = await testRuntime(t, {
    ...base,
    handlers: [
      { type: 'command', name: 'check', command: fixture('fail.sh'), args: ['1'], actions: ['upload'], sync: true, on_failure: ['alert'] },
      { type: 'webhook', name: 'alert', url: `${receiver.url}/alert`, payload: alertPayload, ...onlyAsAction },
      { type: 'webhook', name: 'bystander', url: `${receiver.url}/bystander`, payload: alertPayload, ...onlyAsAction },
    ],
  });
  await runtime.host.emit('100', { data: { path: '/in/b.csv' } });
  const [req] = await receiver.waitFor(1);
  assert.equal(req?.url, '/alert');
  assert.deepEqual(JSON.parse(req?.body ?? '{}'), { handler: 'handler:check', error: JSON.parse(req?.body ?? '{}').error, attempts: 1, path: '/in/b.csv', original: '100' });
  // A handler that does not fail starts no on_failure handler.
  await runtime.host.emit('100', { data: { path: '/in/c.csv' } });
  await receiver.waitFor(2);
  assert.deepEqual(receiver.requests.map((r) => r.url), ['/alert', '/alert']);
});

test('then through the queue: steps run in order, depth first, each after the one before succeeded; no bookkeeping reaches a body', async (t) => {
  const runtime = await testRuntime(t, {
    ...base,
    handlers: [
      { type: 'webhook', name: 'head', url: `${receiver.url}/head`, actions: ['upload'], then: ['a', 'b'] },
      { type: 'webhook', name: 'a', url: `${receiver.url}/a`, then: ['c'], ...onlyAsAction },
      { type: 'webhook', name: 'b', url: `${receiver.url}/b`, ...onlyAsAction },
      { type: 'webhook', name: 'c', url: `${receiver.url}/c`, ...onlyAsAction },
    ],
  });
  await runtime.host.emit('100', { data: { path: '/x' } });
  await receiver.waitFor(4);
  assert.deepEqual(receiver.requests.map((r) => r.url), ['/head', '/a', '/c', '/b']);
  for (const request of receiver.requests) {
    assert.doesNotMatch(request.body, /hookwork_then_pending/);
    assert.equal((JSON.parse(request.body) as { data: { path: string } }).data.path, '/x');
  }
});

test('then through the queue stops at the first step that fails for good (SFTPGo stop on failure)', async (t) => {
  const runtime = await testRuntime(t, {
    ...base,
    handlers: [
      { type: 'webhook', name: 'head', url: `${receiver.url}/head`, actions: ['upload'], then: ['broken', 'after'] },
      { type: 'command', name: 'broken', command: fixture('fail.sh'), args: ['1'], ...onlyAsAction },
      { type: 'webhook', name: 'after', url: `${receiver.url}/after`, ...onlyAsAction },
    ],
  });
  const failed: string[] = [];
  runtime.host.on('20520', (e) => void failed.push(String(e.data['target'])));
  await runtime.host.emit('100', { data: { path: '/x' } });
  await waitFor(() => failed.length === 1, { what: 'the dead letter of "broken"', timeoutMs: 10_000 });
  assert.deepEqual(failed, ['handler:broken']);
  // "after" would have been enqueued by broken's success; give the dispatcher a few polls to prove it was not.
  const probe = await runtime.services.delivery!.enqueue([{ target: 'handler:head', event: { id: 'probe', data: {} } }]);
  assert.equal(probe.length, 1);
  await receiver.waitFor(2);
  assert.deepEqual(receiver.requests.map((r) => r.url), ['/head', '/head']);
});

test('then inline (sync) stops at the first failure and reports the failing step', async (t) => {
  const runtime = await testRuntime(t, {
    ...base,
    handlers: [
      { type: 'webhook', name: 'head', url: `${receiver.url}/head`, actions: ['upload'], sync: true, then: ['broken', 'after'] },
      { type: 'command', name: 'broken', command: fixture('fail.sh'), args: ['1'], ...onlyAsAction },
      { type: 'webhook', name: 'after', url: `${receiver.url}/after`, ...onlyAsAction },
    ],
  });
  const reports: string[] = [];
  runtime.host.on('20174', (e) => void reports.push(String(e.data['handler'])));
  const event = await runtime.host.emit('100', { data: { path: '/x' } });
  assert.deepEqual(receiver.requests.map((r) => r.url), ['/head']);
  assert.equal(runtime.services.targets!.router.failuresOf(event).length, 1);
  await waitFor(() => reports.length === 1, { what: 'the 20174 event', timeoutMs: 5000 });
  assert.deepEqual(reports, ['handler:broken']);
});

const hook = (name: string, extra: Record<string, unknown> = {}) => ({ type: 'webhook', name, url: 'https://e.example/x', ...extra });

test('validate refuses then/on_failure cycles, naming the cycle', () => {
  const thenCycle = handlerProblems([hook('a', { then: ['b'] }), hook('b', { then: ['a'] })]);
  assert.deepEqual(thenCycle, [{ key: 'handlers.0.then.0', message: 'then/on_failure form a cycle: a → b → a; a handler may not (even indirectly) start itself' }]);
  const mixed = handlerProblems([hook('a', { on_failure: ['b'] }), hook('b', { then: ['c'] }), hook('c', { on_failure: ['a'] })]);
  assert.equal(mixed.length, 1);
  assert.equal(mixed[0]?.key, 'handlers.0.on_failure.0');
  assert.match(mixed[0]?.message ?? '', /cycle: a → b → c → a/);
  const self = handlerProblems([hook('a', { on_failure: ['a'] })]);
  assert.deepEqual(self.map((p) => p.key), ['handlers.0.on_failure.0']);
  assert.match(self[0]?.message ?? '', /cycle: a → a/);
  // A diamond is no cycle.
  assert.deepEqual(handlerProblems([hook('a', { then: ['b', 'c'] }), hook('b', { then: ['d'] }), hook('c', { on_failure: ['d'] }), hook('d')]), []);
});

test('validate refuses an on_failure or then naming no handler, or an extension handler', () => {
  const problems = handlerProblems([
    hook('a', { on_failure: ['ghost'], then: ['ext'] }),
    { type: 'extension', name: 'ext', entry_point: 'python:x.Y' },
  ]);
  assert.deepEqual(problems.map((p) => `${p.key}: ${p.message}`).sort(), [
    'handlers.0.on_failure.0: no handler is named "ghost"',
    'handlers.0.then.0: "ext" is not a command or webhook handler; then runs command and webhook handlers only',
  ]);
});
