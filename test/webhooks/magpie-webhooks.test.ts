import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadConfig, validateConfigSources } from '../../src/config/load.js';
import { ConfigError, type ConfigProblem } from '../../src/errors.js';
import { createGateway } from '../../src/server/gateway.js';
import { useReceiver } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { waitFor } from '../helpers/wait-for.js';

const receiver = useReceiver();
const temp = mkdtempSync(join(tmpdir(), 'hookwork-magpie-'));
after(async () => {
  rmSync(temp, { recursive: true, force: true });
});

function problemsOf(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('the config was accepted');
}

async function loadProblems(path: string): Promise<ConfigProblem[]> {
  try {
    await loadConfig(path);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('the config was accepted');
}

test('a webhooks list is validated as a whole: every problem listed, the config refused', () => {
  const problems = problemsOf(() =>
    validateConfigSources([
      {
        value: {
          events: [{ id: '1', name: 'create_user' }],
          webhooks: [
            { name: 'ok', action: 'create_user', method: 'POST', url: 'https://hooks.example.com/a' },
            { name: '', action: 'create_user', method: 'POST', url: 'https://hooks.example.com/a' },
            { action: 'create_user', method: 'POST', url: 'https://hooks.example.com/a' },
            { name: 'x', action: 'no_such_action', method: 'POST', url: 'https://hooks.example.com/a' },
            { name: 'y', action: 'create_user', method: 'FETCH', url: 'https://hooks.example.com/a' },
            { name: 'z', action: 'create_user', method: 'POST', url: 'hooks.example.com/a' },
            { name: 'w', action: 'create_user', method: 'POST', url: 'https://hooks.example.com/a', colour: 'red' },
          ],
        },
      } as never,
    ]),
  );
  const keys = problems.map((p) => `${p.key}: ${p.message}`);
  const has = (pattern: RegExp): boolean => keys.some((k) => pattern.test(k));
  assert.ok(has(/^webhooks\.1\.name: must not be empty/), keys.join('\n'));
  assert.ok(has(/^webhooks\.2\.name: is required/), keys.join('\n'));
  assert.ok(has(/^webhooks\.4\.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE/), keys.join('\n'));
  assert.ok(has(/^webhooks\.5\.url: .*not an absolute URL/), keys.join('\n'));
  assert.ok(has(/^webhooks\.6\.colour: unknown key/), keys.join('\n'));
  // The per-entry checks run on every entry, also while others fail the schema.
  assert.ok(has(/^webhooks\.3\.action: unknown action "no_such_action"/), keys.join('\n'));
  const actionProblems = problemsOf(() =>
    validateConfigSources([
      {
        file: 'c.yaml',
        value: {
          events: [{ id: '1', name: 'create_user' }],
          webhooks: [
            { name: 'x', action: 'no_such_action', method: 'get', url: 'https://hooks.example.com/{{user.name}}' },
            { name: 'x', action: 'create_user', method: 'POST', url: 'https://hooks.example.com/a' },
          ],
        },
      },
    ]),
  );
  assert.deepEqual(
    actionProblems.map((p) => p.key),
    ['webhooks.0.action', 'webhooks.1.name'],
  );
  assert.match(actionProblems[1]?.message ?? '', /"x" is already used by another webhook \(c\.yaml: webhooks\.0\.name\)/);
  assert.match(actionProblems[0]?.message ?? '', /unknown action "no_such_action".*create_user/);
});

test('an unknown action is listed with the schema problems of the same list, in one round', () => {
  const problems = problemsOf(() =>
    validateConfigSources([
      {
        file: 'hooks.yaml',
        value: {
          events: [{ id: '1', name: 'create_user' }],
          webhooks: [
            { name: 'a', action: 'no_such_action', method: 'POST', url: 'https://hooks.example.com/a' },
            { name: 'b', action: 'create_user', method: 'FETCH', url: 'https://hooks.example.com/b' },
            { name: 'c', action: 'also_unknown', method: 'FETCH', url: 'x' },
          ],
        },
      },
    ]),
  );
  assert.deepEqual(
    problems.map((p) => [p.file, p.key]),
    [
      ['hooks.yaml', 'webhooks.1.method'],
      ['hooks.yaml', 'webhooks.2.method'],
      ['hooks.yaml', 'webhooks.2.url'],
      ['hooks.yaml', 'webhooks.0.action'],
      ['hooks.yaml', 'webhooks.2.action'],
    ],
  );
});

test('an unknown action is not reported when the event is declared but another event fails its schema', () => {
  const problems = problemsOf(() =>
    validateConfigSources([
      {
        file: 'c.yaml',
        value: {
          events: [{ id: '1', name: 'create_user' }, { id: '2', name: 'bad', colour: 'red' }],
          webhooks: [{ name: 'a', action: 'create_user', method: 'POST', url: 'https://hooks.example.com/a' }],
        },
      },
    ]),
  );
  assert.deepEqual(problems.map((p) => p.key), ['events.1.colour']);
});

test('loadConfig reads webhooks_path (relative to the config folder) and lists every problem of its files with their own file and key', async (t) => {
  const dir = join(temp, 'validate-bad');
  mkdirSync(join(dir, 'hooks.d'), { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'events:\n  - { id: "1", name: create_user }\nwebhooks_path: hooks.d\n');
  const a = join(dir, 'hooks.d', 'a.yaml');
  writeFileSync(a, 'webhooks:\n  - { name: ok, action: create_user, method: POST, url: "https://e.example/a" }\n  - { name: "", action: no_such_action, method: FETCH, url: "x", colour: red }\n');
  const b = join(dir, 'hooks.d', 'b.json');
  writeFileSync(b, JSON.stringify({ webhooks: [{ name: 'ok', action: 'create_user', method: 'POST', url: 'https://e.example/b' }], extra: 1 }));
  const problems = await loadProblems(config);
  const lines = problems.map((p) => `${p.file ?? ''}|${p.key}`);
  for (const expected of [
    `${a}|webhooks.1.name`,
    `${a}|webhooks.1.action`,
    `${a}|webhooks.1.method`,
    `${a}|webhooks.1.url`,
    `${a}|webhooks.1.colour`,
    `${b}|extra`,
    `${b}|webhooks.0.name`,
  ]) {
    assert.ok(lines.includes(expected), `${expected} in:\n${lines.join('\n')}`);
  }
  assert.equal(problems.length, 7, lines.join('\n'));
  assert.match(problems.find((p) => p.file === b && p.key === 'webhooks.0.name')?.message ?? '', /already used by another webhook \(.*a\.yaml: webhooks\.0\.name\)/);

  writeFileSync(config, 'events:\n  - { id: "1", name: create_user }\nwebhooks_path: nowhere.d\n');
  await assert.rejects(loadConfig(config), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.problems.length, 1);
    assert.equal(e.problems[0]?.file, config);
    assert.equal(e.problems[0]?.key, 'webhooks_path');
    assert.match(e.problems[0]?.message ?? '', /does not exist: .*nowhere\.d$/);
    return true;
  });
});

test('loadConfig accepts a good webhooks_path and returns its webhooks; a duplicate name across config and file is a problem', async (t) => {
  const dir = join(temp, 'validate-good');
  mkdirSync(join(dir, 'hooks.d'), { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'events:\n  - { id: "1", name: create_user }\nwebhooks:\n  - { name: inline, action: create_user, method: POST, url: "https://e.example/i" }\nwebhooks_path: hooks.d\n');
  const a = join(dir, 'hooks.d', 'a.yaml');
  writeFileSync(a, 'webhooks:\n  - { name: from_file, action: "1", method: post, url: "https://e.example/a" }\n');
  const loaded = await loadConfig(config);
  assert.deepEqual(loaded.webhookFiles, [a]);
  assert.deepEqual(loaded.webhooks.map((w) => [w.name, w.method]), [['inline', 'POST'], ['from_file', 'POST']]);

  writeFileSync(a, 'webhooks:\n  - { name: inline, action: create_user, method: POST, url: "https://e.example/a" }\n');
  await assert.rejects(loadConfig(config), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.problems.map((p) => [p.file, p.key]), [[a, 'webhooks.0.name']]);
    assert.match(e.problems[0]?.message ?? '', new RegExp(`already used by another webhook \\(${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: webhooks\\.0\\.name\\)`));
    return true;
  });
});

test('callbacks.on_failure may name a webhook defined in webhooks_path', async (t) => {
  const dir = join(temp, 'on-failure');
  mkdirSync(join(dir, 'hooks.d'), { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'events:\n  - { id: "1", name: create_user }\nwebhooks_path: hooks.d\ncallbacks:\n  on_failure: [report_error]\n');
  writeFileSync(join(dir, 'hooks.d', 'a.yaml'), 'webhooks:\n  - { name: report_error, action: create_user, method: POST, url: "https://e.example/err" }\n');
  const loaded = await loadConfig(config);
  assert.deepEqual(loaded.config.callbacks.on_failure, ['report_error']);
  // Without the files (validateConfigSources alone), the name is unknown; given them, it is found.
  const value = { events: [{ id: '1', name: 'create_user' }], webhooks_path: 'hooks.d', callbacks: { on_failure: ['report_error'] } };
  assert.deepEqual(problemsOf(() => validateConfigSources([{ file: 'c.yaml', value }])).map((p) => p.key), ['callbacks.on_failure.0']);
  validateConfigSources([{ file: 'c.yaml', value }], [], {
    webhookSources: [{ file: 'hooks.d/a.yaml', value: { webhooks: [{ name: 'report_error', action: 'create_user', method: 'POST', url: 'https://e.example/err' }] } }],
  });
  // A name that is nowhere is still refused.
  writeFileSync(config, 'events:\n  - { id: "1", name: create_user }\nwebhooks_path: hooks.d\ncallbacks:\n  on_failure: [nobody]\n');
  await assert.rejects(loadConfig(config), (e: unknown) => e instanceof ConfigError && e.problems[0]?.key === 'callbacks.on_failure.0' && e.problems[0]?.file === config);
});

test("the seed's template example, end to end: a real request carries Magpie's documented payload", async (t) => {
  const spec = parseYaml(`
webhooks:
  - name: demo_webhook
    action: demo
    method: POST
    url: ${receiver.url}/magpie
    payload:
      user:
        name: "{{user.name}}"
        id: "{{user.id}}"
        str: "'{{user.id}}'"
      msg: Hello {{user.name}}, your ID is {{user.id}}
      typo: "{{user.nope}}"
  - name: literal
    action: demo
    method: PUT
    format: string
    url: ${receiver.url}/literal
    payload: "param: {{user.name}}"
`) as { webhooks: unknown[] };
  const runtime = await testRuntime(t, {
    events: [{ id: '7', name: 'demo' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    webhooks: spec.webhooks as never,
  });
  await runtime.host.emit('7', { data: { user: { name: 'demo', id: 123 } } });
  const requests = await receiver.waitFor(2);
  const byUrl = Object.fromEntries(requests.map((r) => [r.url, r]));
  assert.deepEqual(JSON.parse(byUrl['/magpie']?.body ?? ''), {
    user: { name: 'demo', id: 123, str: '123' },
    msg: 'Hello demo, your ID is 123',
    typo: '{{user.nope}}',
  });
  assert.equal(byUrl['/literal']?.method, 'PUT');
  assert.equal(byUrl['/literal']?.body, 'param: demo');
});

test('webhooks from a separate folder are appended; a bad entry there refuses the whole config, naming the file', async (t) => {
  const folder = join(temp, 'hooks');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'a.yaml'), `webhooks:\n  - { name: from_file, action: demo, method: POST, url: "${receiver.url}/file" }\n`);
  writeFileSync(join(folder, 'b.json'), JSON.stringify({ webhooks: [{ name: 'from_json', action: 'demo', method: 'POST', url: `${receiver.url}/json` }] }));
  const runtime = await testRuntime(t, {
    events: [{ id: '7', name: 'demo' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    webhooks: [{ name: 'inline', action: 'demo', method: 'POST', url: `${receiver.url}/inline` }],
    webhooks_path: folder,
  });
  await runtime.host.emit('7', { data: {} });
  const requests = await receiver.waitFor(3);
  assert.deepEqual(requests.map((r) => r.url).sort(), ['/file', '/inline', '/json']);

  const badFolder = join(temp, 'bad-hooks');
  mkdirSync(badFolder, { recursive: true });
  writeFileSync(join(badFolder, 'a.yaml'), 'webhooks:\n  - { name: "", action: nope, method: POST, url: "x" }\n  - { name: ok, action: nope, method: POST, url: "https://e.example" }\n');
  await assert.rejects(
    testRuntime(t, { events: [{ id: '7', name: 'demo' }], webhooks_path: badFolder }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const lines = err.problems.map((p) => `${p.file ?? ''}|${p.key}`);
      assert.ok(lines.includes(`${join(badFolder, 'a.yaml')}|webhooks.0.name`), lines.join('\n'));
      assert.ok(lines.includes(`${join(badFolder, 'a.yaml')}|webhooks.0.url`), lines.join('\n'));
      assert.ok(lines.includes(`${join(badFolder, 'a.yaml')}|webhooks.0.action`) || lines.includes(`${join(badFolder, 'a.yaml')}|webhooks.1.action`), lines.join('\n'));
      return true;
    },
  );
});

test('callback_url: single-use, hashed, reports failure as an event and runs the on_failure handlers', async (t) => {
  const runtime = await testRuntime(t, {
    events: [{ id: '7', name: 'create_user' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    webhooks: [
      {
        name: 'provision',
        action: 'create_user',
        method: 'POST',
        url: `${receiver.url}/provision`,
        payload: { user: '{{user.name}}', callback: '{{callback_url}}' },
      },
    ],
    handlers: [{ type: 'webhook', name: 'mark_user_error', url: `${receiver.url}/users/{{account.name}}/status`, method: 'PATCH', payload: { status: 'error', why: '{{data.error}}' }, actions: ['update_user_status_on_error'] }],
    actions: { options: { update_user_status_on_error: {} } },
    callbacks: { on_failure: ['mark_user_error'] },
  });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  t.after(() => gateway.close());
  await gateway.listen();
  const failures: Array<Record<string, unknown>> = [];
  runtime.host.on('20510', (event) => void failures.push({ ...event.data, account: event.account.name }));
  await runtime.host.emit('7', { data: { user: { name: 'carol' } }, account: { name: 'carol' } });
  const [first] = await receiver.waitFor(1);
  const { callback } = JSON.parse(first?.body ?? '{}') as { callback: string };
  assert.match(callback, /^http:\/\/127\.0\.0\.1:\d+\/v1\/callbacks\/[A-Za-z0-9_-]{20,}$/);
  const token = callback.split('/').pop() as string;
  assert.ok(token.length >= 20);

  const call = (body?: unknown): Promise<Response> =>
    fetch(callback, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const reported = await call({ error: 'mailbox quota', details: { code: 552 } });
  assert.equal(reported.status, 200);
  await runtime.host.idle();
  await waitFor(() => failures.length === 1, { what: 'the failure event', timeoutMs: 5000 });
  assert.deepEqual(failures[0], {
    target: 'webhook:provision',
    webhook_id: failures[0]?.['webhook_id'],
    event_id: '7',
    event_uuid: failures[0]?.['event_uuid'],
    event_name: 'create_user',
    error: 'mailbox quota',
    details: { code: 552 },
    account: 'carol',
  });
  const patched = await receiver.waitFor(2);
  assert.equal(patched[1]?.method, 'PATCH');
  assert.equal(patched[1]?.url, '/users/carol/status');
  assert.deepEqual(JSON.parse(patched[1]?.body ?? '{}'), { status: 'error', why: 'mailbox quota' });

  const again = await call();
  assert.equal(again.status, 410);
  assert.equal(((await again.json()) as { code: string }).code, 'HKW_ERR_CALLBACK_USED');
  const unknown = await fetch(callback.replace(/[^/]+$/, 'A'.repeat(43)), { method: 'POST' });
  assert.equal(unknown.status, 404);
});
