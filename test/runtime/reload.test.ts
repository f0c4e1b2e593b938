// Config reload without a restart: handlers, webhooks, extension handlers,
// plugins and auth tokens take the new config; a refused config changes
// nothing; sections only a restart applies are reported; no event is lost
// while the targets are swapped.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { silentLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { createGateway } from '../../src/server/gateway.js';
import { testReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

interface Setup {
  readonly dir: string;
  readonly runtime: Runtime;
  /** Writes the config file that reload() (without an argument) reads. */
  writeConfig(config: HookworkConfigInput): void;
}

function baseConfig(dir: string, extra: HookworkConfigInput = {}): HookworkConfigInput {
  return {
    server: { data_dir: join(dir, 'data'), name: 'reload-test' },
    store: { url: 'memory' },
    ssrf: { allow: ['127.0.0.1/32'] },
    events: [{ id: '100', name: 'uploaded', message: 'uploaded {{data.path}}' }],
    plugins: { folder: 'plugins' },
    extensions: { folder: 'extensions', pool: { size: 1 } },
    ...extra,
  };
}

async function setup(t: TestContext, extra: HookworkConfigInput = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'plugins'));
  mkdirSync(join(dir, 'extensions'));
  const file = join(dir, 'hookwork.yaml');
  const writeConfig = (config: HookworkConfigInput): void => writeFileSync(file, stringify(config));
  writeConfig(baseConfig(dir, extra));
  const runtime = await createRuntime({
    logger: silentLogger(),
    baseDir: dir,
    config: (await loadConfig(file)).config,
    readConfig: async () => (await loadConfig(file)).config,
  });
  t.after(() => runtime.close());
  return { dir, runtime, writeConfig };
}

const webhook = (name: string, url: string): NonNullable<HookworkConfigInput['handlers']>[number] => ({
  type: 'webhook',
  name,
  url,
  target_events: ['100'],
});

test('a webhook handler added, changed and removed by a reload of the config file', async (t) => {
  const receiver = await testReceiver(t);
  const { dir, runtime, writeConfig } = await setup(t);
  await runtime.host.emit('100', { data: { path: '/a' } });
  writeConfig(baseConfig(dir, { handlers: [webhook('audit', `${receiver.url}/one`)] }));
  const added = await runtime.reload();
  assert.deepEqual(added.changed, ['handlers']);
  assert.ok(added.applied.includes('targets'));
  assert.deepEqual(added.restartNeeded, []);
  assert.equal(runtime.config.handlers.length, 1, 'runtime.config is the new config');
  await runtime.host.emit('100', { data: { path: '/b' } });
  await receiver.waitFor(1);
  assert.equal(receiver.requests[0]?.url, '/one');
  assert.equal(JSON.parse(receiver.requests[0]?.body ?? '{}').data.path, '/b', 'the event before the handler existed was not sent');

  writeConfig(baseConfig(dir, { handlers: [webhook('audit', `${receiver.url}/two`)] }));
  await runtime.reload();
  await runtime.host.emit('100', { data: { path: '/c' } });
  await receiver.waitFor(2);
  assert.equal(receiver.requests[1]?.url, '/two');

  writeConfig(baseConfig(dir));
  await runtime.reload();
  await runtime.host.emit('100', { data: { path: '/d' } });
  await runtime.host.emit('100', { data: { path: '/e' } });
  await runtime.host.idle();
  assert.equal(receiver.requests.length, 2, 'a removed handler gets nothing');
  assert.equal(runtime.services.targets?.targets.size, 0);
});

test('a refused config changes nothing and lists every problem', async (t) => {
  const receiver = await testReceiver(t);
  const { dir, runtime, writeConfig } = await setup(t, { handlers: [webhook('audit', `${receiver.url}/kept`)] });
  writeConfig(
    baseConfig(dir, {
      handlers: [webhook('audit', `${receiver.url}/new`), { type: 'command', name: 'bad', command: 'relative/script.sh', target_events: ['100'] }],
      webhooks: [{ name: 'x', action: 'no_such_action', method: 'POST', url: 'http://127.0.0.1/' }],
    }),
  );
  await assert.rejects(runtime.reload(), (err: { code: string; problems: Array<{ key: string }> }) => {
    assert.equal(err.code, 'HKW_ERR_CONFIG_INVALID');
    assert.ok(err.problems.length >= 2, JSON.stringify(err.problems));
    return true;
  });
  assert.equal(runtime.config.handlers.length, 1, 'the running config stays');
  await runtime.host.emit('100', { data: { path: '/a' } });
  await receiver.waitFor(1);
  assert.equal(receiver.requests[0]?.url, '/kept', 'the old handler still works');
});

test('sections only a restart applies are reported, and the rest is applied', async (t) => {
  const { dir, runtime } = await setup(t);
  const report = await runtime.reload(baseConfig(dir, { server: { data_dir: join(dir, 'data'), name: 'renamed', port: 9999 }, log_level: 'debug' }));
  assert.deepEqual(report.changed, ['log_level', 'server']);
  assert.deepEqual(report.restartNeeded, ['log_level', 'server']);
  assert.deepEqual(report.applied, []);
  const same = await runtime.reload(runtime.config);
  assert.deepEqual(same, { applied: [], changed: [], restartNeeded: [] });
});

test('a runtime made from a config object reloads only from a config it is given', async () => {
  const runtime = await createRuntime({ logger: silentLogger(), config: { store: { url: 'memory' } } });
  try {
    await assert.rejects(runtime.reload(), { code: 'HKW_ERR_INVALID_ARGUMENT', message: /pass the new config/ });
  } finally {
    await runtime.close();
  }
  await assert.rejects(runtime.reload({}), { code: 'HKW_ERR_CLOSED' });
});

test('no event is lost or doubled while a reload swaps the targets', async (t) => {
  const receiver = await testReceiver(t);
  const { dir, runtime } = await setup(t, { handlers: [webhook('steady', `${receiver.url}/steady`)] });
  const total = 300;
  let reloads = 0;
  const emitting = (async () => {
    for (let i = 0; i < total; i++) await runtime.host.emit('100', { data: { path: `/f${i}` } });
  })();
  // Reloads alternate between two configs while the events stream.
  while (reloads < 10) {
    const extra = reloads % 2 === 0 ? [webhook('other', `${receiver.url}/other`)] : [];
    await runtime.reload(baseConfig(dir, { handlers: [webhook('steady', `${receiver.url}/steady`), ...extra] }));
    reloads++;
    await new Promise((r) => setImmediate(r));
  }
  await emitting;
  await waitFor(() => receiver.requests.filter((r) => r.url === '/steady').length >= total, { what: 'every steady delivery', timeoutMs: 10_000 });
  await runtime.host.idle();
  const paths = receiver.requests.filter((r) => r.url === '/steady').map((r) => JSON.parse(r.body).data.path as string);
  assert.equal(new Set(paths).size, total, 'every event reached the unchanged handler');
  assert.equal(paths.length, total, 'and only once');
});

test('extension handlers: an unchanged one keeps running, a changed one restarts, a removed one stops, a new one starts', async (t) => {
  const { dir, runtime } = await setup(t);
  writeFileSync(
    join(dir, 'extensions', 'echo.mjs'),
    `export class Echo {
       onStart(parent) { this.configuration = parent.configuration; globalThis.__echoStarts = (globalThis.__echoStarts ?? 0) + 1; }
       onStop() { globalThis.__echoStops = (globalThis.__echoStops ?? 0) + 1; }
       getConfiguration() { return this.configuration; }
       static handle(event, configuration) { return configuration + ':' + event.data.path; }
     }`,
  );
  const messages: string[] = [];
  runtime.host.on('20200', (event: HookworkEvent) => {
    messages.push(event.message);
  });
  const echo = (name: string, configuration: string) => ({ type: 'extension' as const, name, entry_point: 'echo.mjs#Echo', configuration, target_events: ['100'] });
  const g = globalThis as { __echoStarts?: number; __echoStops?: number };

  await runtime.reload(baseConfig(dir, { handlers: [echo('a', 'one'), echo('b', 'bee')] }));
  assert.deepEqual(runtime.services.extensions?.list().map((h) => [h.name, h.state]), [['a', 'started'], ['b', 'started']]);
  assert.equal(g.__echoStarts, 2);
  await runtime.host.emit('100', { data: { path: '/x' } });
  await runtime.services.extensions?.idle();
  await waitFor(() => messages.length === 2, { what: 'both handled', timeoutMs: 5000 });
  assert.deepEqual(messages.sort(), ['bee:/x', 'one:/x']);

  await runtime.reload(baseConfig(dir, { handlers: [echo('a', 'two'), echo('c', 'sea')] }));
  assert.deepEqual(runtime.services.extensions?.list().map((h) => [h.name, h.state]), [['a', 'started'], ['c', 'started']]);
  assert.equal(g.__echoStops, 2, 'the changed "a" and the removed "b" stopped');
  assert.equal(g.__echoStarts, 4, 'the new "a" and "c" started');
  messages.length = 0;
  await runtime.host.emit('100', { data: { path: '/y' } });
  await runtime.services.extensions?.idle();
  await waitFor(() => messages.length === 2, { what: 'both handled again', timeoutMs: 5000 });
  assert.deepEqual(messages.sort(), ['sea:/y', 'two:/y']);

  // An unrelated change leaves the handlers alone.
  await runtime.reload(baseConfig(dir, { handlers: [echo('a', 'two'), echo('c', 'sea'), webhook('w', 'http://127.0.0.1:9/')] }));
  assert.equal(g.__echoStarts, 4);
  assert.equal(g.__echoStops, 2);
});

test('plugins: a newly active plugin starts, a changed section reloads it, a bad section is refused, a dropped one stops', async (t) => {
  const { dir, runtime } = await setup(t);
  const zod = import.meta.resolve('zod');
  writeFileSync(
    join(dir, 'plugins', 'greeter.mjs'),
    `import { z } from ${JSON.stringify(zod)};
     export const plugin = {
       name: 'greeter', version: '1.0.0',
       configSchema: z.strictObject({ greeting: z.string() }),
       setup(ctx) { (globalThis.__greetings ??= []).push(ctx.config.greeting); ctx.onGate('pre-upload', () => undefined); },
     };`,
  );
  const plugins = (active: string[], config: Record<string, unknown>) => baseConfig(dir, { plugins: { folder: 'plugins', active, config } });
  const g = globalThis as { __greetings?: string[] };
  const state = () => runtime.services.plugins?.get('greeter')?.state;

  await runtime.reload(plugins(['greeter'], { greeter: { greeting: 'hello' } }));
  assert.equal(state(), 'running');
  assert.deepEqual(g.__greetings, ['hello']);

  await runtime.reload(plugins(['greeter'], { greeter: { greeting: 'ahoj' } }));
  assert.equal(state(), 'running');
  assert.deepEqual(g.__greetings, ['hello', 'ahoj'], 'reloaded with its new section');

  await assert.rejects(runtime.reload(plugins(['greeter'], { greeter: { greeting: 42 } })), (err: { problems: Array<{ key: string }> }) => {
    assert.equal(err.problems[0]?.key, 'plugins.config.greeter.greeting');
    return true;
  });
  assert.deepEqual(g.__greetings, ['hello', 'ahoj'], 'a refused section changed nothing');
  assert.equal(state(), 'running');

  await runtime.reload(plugins([], {}));
  assert.equal(state(), 'stopped');
  assert.equal(runtime.services.plugins?.get('greeter')?.active, false);
});

test('gateway: POST /v1/config/reload needs a superuser, rotates tokens, and answers 400 with every problem for a refused config', async (t) => {
  const old = { name: 'root', role: 'superuser' as const, token: 'old-superuser-token-0123456789' };
  const fresh = { name: 'root', role: 'superuser' as const, token: 'new-superuser-token-0123456789' };
  const operator = { name: 'ops', role: 'operator' as const, token: 'operator-token-0123456789' };
  const { dir, runtime, writeConfig } = await setup(t, { auth: { tokens: [old, operator] } });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  t.after(() => gateway.close());
  const url = await gateway.listen();
  const reload = async (token?: string) => {
    const res = await fetch(`${url}/v1/config/reload`, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  assert.equal((await reload()).status, 401);
  assert.equal((await reload(operator.token)).status, 403);

  writeConfig(baseConfig(dir, { auth: { tokens: [fresh, operator] } }));
  const done = await reload(old.token);
  assert.equal(done.status, 200);
  assert.deepEqual((done.body['reload'] as { applied: string[] }).applied, ['auth']);
  assert.equal((await reload(old.token)).status, 401, 'the old token is gone');

  writeConfig({ ...baseConfig(dir, { auth: { tokens: [fresh] } }), handlers: [{ type: 'webhook', name: 'w', url: 'not a url' }], nonsense: true } as HookworkConfigInput);
  const refused = await reload(fresh.token);
  assert.equal(refused.status, 400);
  assert.equal(refused.body['code'], 'HKW_ERR_CONFIG_INVALID');
  const keys = (refused.body['problems'] as Array<{ key: string }>).map((p) => p.key);
  assert.ok(keys.includes('nonsense'), keys.join(', '));
  assert.ok(keys.some((k) => k.startsWith('handlers.0')), keys.join(', '));
  assert.equal((await reload(operator.token)).status, 403, 'the refused config did not drop the operator token');
});
