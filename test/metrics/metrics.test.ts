// Prometheus metrics: values move as the engine works (events, gates, change
// points, middleware refusals, webhook deliveries to a real receiver, an
// extension handler, a command, a plugin load), /metrics needs a viewer token
// unless public, metrics.listen serves on its own port, no label carries a
// uuid or a path, promtool accepts the output, and the Grafana dashboard
// queries only metrics the gateway exposes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { block } from '../../src/hooks/change.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { silentLogger } from '../../src/logger.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { HOOKWORK_URL, tempFolder } from '../plugins/helpers.js';
import { startGateway, type TestGateway } from '../server/gateway-helpers.js';

const VIEWER = 'viewer-token-0123456789';
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const EXTENSION_FIXTURES = fileURLToPath(new URL('../extensions/fixtures/', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../examples/grafana/hookwork.json', import.meta.url));

async function scrape(url: string, token: string | null = VIEWER): Promise<{ status: number; type: string; text: string }> {
  const res = await request(`${url}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

/** The value of one series (`name{a="b",...}` with the labels in any order), or undefined. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Every label value of the output. */
function labelValues(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .flatMap((l) => [...l.matchAll(/[a-zA-Z_]\w*="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string));
}

describe('metrics on a working gateway', () => {
  let receiver: Receiver;
  let g: TestGateway;

  before(async () => {
    receiver = await startReceiver();
    const plugins = join(tempFolder('hookwork-metrics-'), 'plugins');
    mkdirSync(plugins);
    writeFileSync(join(plugins, 'probe.mjs'), `import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};\nexport default definePlugin({ name: 'probe', version: '1.0.0', setup() {} });\n`);
    g = await startGateway({
      auth: { tokens: [{ name: 'watcher', role: 'viewer', token: VIEWER }] },
      events: [{ id: '100', name: 'upload' }, { id: '2000', name: 'work' }],
      gates: { 'pre-upload': {} },
      changes: { quota: {} },
      ssrf: { allow: ['127.0.0.1/32'] },
      plugins: { folder: plugins, active: ['probe'] },
      extensions: { folder: EXTENSION_FIXTURES, pool: { size: 1 } },
      handlers: [
        { type: 'webhook', name: 'hook', url: `${receiver.url}/in/{{data.path}}`, target_events: ['100'] },
        { type: 'command', name: 'count', command: join(FIXTURES, 'json-out.sh'), args: ['{{account.name}}', '7'], target_events: ['100'] },
        { type: 'extension', name: 'counting', entry_point: 'lifecycle.ts#Counting', target_events: ['2000'] },
      ],
    });
    const host = g.runtime.host;
    host.onGate('pre-upload', (context: unknown) => ((context as { user: string }).user === 'mallory' ? false : true));
    host.onChange('quota', ({ value }) => ((value as number) > 100 ? block('too big') : undefined));
    host.define('rename', (name: unknown) => name);
    host.use('rename', (next, name) => {
      if (name === 'x') throw new Error('refused by policy');
      return next(name);
    });
  });

  after(async () => {
    await g.close();
    await receiver.close();
  });

  test('values move as events, gates, change points, middleware, deliveries, handlers, commands and plugins run', async () => {
    const base = (await scrape(g.url)).text;
    const host = g.runtime.host;
    const uuids: string[] = [];
    for (let i = 0; i < 3; i++) uuids.push((await host.emit('100', { data: { path: `/home/alice/f${i}.txt` }, account: { name: 'alice' } })).uuid);
    await host.emit('2000');
    assert.equal((await host.gate('pre-upload', { user: 'alice' })).verdict, 'allow');
    assert.equal((await host.gate('pre-upload', { user: 'mallory' })).verdict, 'deny');
    assert.deepEqual(await host.change('quota', 1, 10), { blocked: false, value: 10 });
    assert.equal((await host.change('quota', 1, 1000)).blocked, true);
    assert.equal(host.call('rename', 'a'), 'a');
    assert.throws(() => host.call('rename', 'x'), /refused by policy/);
    await receiver.waitFor(3);
    await g.runtime.services.extensions?.idle();
    let text = '';
    await waitFor(async () => {
      text = (await scrape(g.url)).text;
      return value(text, 'hookwork_deliveries_total', { target: 'handler:hook', outcome: 'done' }) === 3 &&
        value(text, 'hookwork_command_runs_total', { outcome: 'ok' }) === 3;
    });
    const grew = (name: string, labels: Record<string, string>, by: number) =>
      assert.equal((value(text, name, labels) ?? 0) - (value(base, name, labels) ?? 0), by, `${name}${JSON.stringify(labels)}`);
    grew('hookwork_events_emitted_total', { event: '100' }, 3);
    grew('hookwork_events_emitted_total', { event: '2000' }, 1);
    grew('hookwork_gate_decisions_total', { gate: 'pre-upload', verdict: 'allow' }, 1);
    grew('hookwork_gate_decisions_total', { gate: 'pre-upload', verdict: 'deny' }, 1);
    // Latency is sampled (one chain in 8 per point, the first one included): of these two chains, one is timed.
    grew('hookwork_gate_duration_seconds_count', { gate: 'pre-upload' }, 1);
    grew('hookwork_change_outcomes_total', { point: 'quota', outcome: 'applied' }, 1);
    grew('hookwork_change_outcomes_total', { point: 'quota', outcome: 'blocked' }, 1);
    grew('hookwork_middleware_refusals_total', { method: 'rename' }, 1);
    grew('hookwork_delivery_http_responses_total', { status_class: '2xx' }, 3);
    grew('hookwork_delivery_attempt_duration_seconds_count', { target: 'handler:hook' }, 3);
    grew('hookwork_extension_events_total', { handler: 'counting', outcome: 'handled' }, 1);
    grew('hookwork_extension_handle_duration_seconds_count', { handler: 'counting' }, 1);
    grew('hookwork_command_duration_seconds_count', {}, 3);
    assert.equal(value(text, 'hookwork_plugin_operations_total', { plugin: 'probe', operation: 'load', outcome: 'ok' }), 1);
    assert.equal(value(text, 'hookwork_plugin_state', { plugin: 'probe', state: 'running' }), 1);
    assert.equal(value(text, 'hookwork_delivery_queue_depth', { target: 'handler:hook', state: 'done' }), 3);
    assert.equal(value(text, 'hookwork_delivery_queue_depth', { target: 'handler:hook', state: 'pending' }), 0);
    assert.equal(value(text, 'hookwork_delivery_oldest_pending_age_seconds', { target: 'handler:hook' }), 0);
    assert.equal(value(text, 'hookwork_delivery_circuit_state', { target: 'handler:hook', state: 'closed' }), 1);
    assert.ok((value(text, 'hookwork_store_operation_duration_seconds_count', { operation: 'enqueue' }) ?? 0) + (value(text, 'hookwork_store_operation_duration_seconds_count', { operation: 'enqueueNow' }) ?? 0) >= 1);
    assert.ok(value(text, 'hookwork_extension_pool_queue_depth') !== undefined);
    assert.ok(value(text, 'process_cpu_user_seconds_total') !== undefined, 'the default process metrics are there');

    // Bounded labels: no event uuid, no path, no user name.
    const values = labelValues(text);
    for (const uuid of [...uuids, host.server.uuid]) assert.ok(!values.includes(uuid), `a label holds the uuid ${uuid}`);
    for (const v of values) {
      assert.doesNotMatch(v, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i, `label value ${v} is a uuid`);
      assert.doesNotMatch(v, /\/home\/|\.txt$/, `label value ${v} is a path`);
      assert.notEqual(v, 'alice');
    }
  });

  test('/metrics needs a viewer token: 401 without one or with an unknown one', async () => {
    assert.equal((await scrape(g.url, null)).status, 401);
    assert.equal((await scrape(g.url, 'not-a-known-token-123456')).status, 401);
    const ok = await scrape(g.url);
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
  });

  test('promtool check metrics accepts the output', async (t) => {
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
    if (promtool === undefined) {
      t.skip('promtool is not installed (apt-get install -y prometheus): the format check did not run');
      return;
    }
    const { text } = await scrape(g.url);
    const run = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(run.status, 0, `promtool check metrics found problems:\n${run.stdout}${run.stderr}`);
  });

  test('every metric the Grafana dashboard queries is in the /metrics output', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as unknown;
    const exprs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === 'object') {
        for (const [key, v] of Object.entries(node)) {
          if (key === 'expr' && typeof v === 'string') exprs.push(v);
          else walk(v);
        }
      }
    };
    walk(dashboard);
    assert.ok(exprs.length >= 10, `the dashboard has ${exprs.length} queries`);
    const { text } = await scrape(g.url);
    const exposed = new Set(text.split('\n').filter((l) => !l.startsWith('#') && l !== '').map((l) => (/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l) as RegExpExecArray)[0]));
    const queried = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(hookwork_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+)\b/g)].map((m) => m[1] as string)));
    assert.ok(queried.size >= 10);
    for (const name of queried) assert.ok(exposed.has(name), `the dashboard queries ${name}, which /metrics does not expose`);
  });
});

test('metrics.public serves /metrics without a token', async (t) => {
  const g = await startGateway({ auth: { tokens: [{ name: 'op', role: 'operator', token: 'operator-token-0123456789' }] }, metrics: { public: true } });
  t.after(() => g.close());
  const res = await scrape(g.url, null);
  assert.equal(res.status, 200);
  assert.match(res.text, /^# HELP hookwork_/m);
});

test('metrics.listen serves /metrics on its own port (open), not on the gateway', async (t) => {
  const g = await startGateway({ auth: { tokens: [{ name: 'v', role: 'viewer', token: VIEWER }] }, metrics: { listen: '127.0.0.1:0' } });
  t.after(() => g.close());
  const own = g.gateway.metricsUrl;
  assert.ok(own !== undefined && own !== g.url);
  const res = await scrape(own, null);
  assert.equal(res.status, 200);
  assert.match(res.text, /^# TYPE hookwork_events_emitted_total counter$/m);
  assert.equal((await scrape(g.url)).status, 404, 'the gateway port does not serve it');
});

test('metrics.enabled false: no /metrics route, no registry', async (t) => {
  const g = await startGateway({ auth: { tokens: [{ name: 'v', role: 'viewer', token: VIEWER }] }, metrics: { enabled: false } });
  t.after(() => g.close());
  assert.equal(g.runtime.metrics, undefined);
  assert.equal((await scrape(g.url)).status, 404);
});

test('two runtimes in one process keep their own registries', async (t) => {
  const dir = tempFolder('hookwork-metrics-two-');
  const make = (name: string) =>
    createRuntime({ config: { server: { data_dir: join(dir, name) }, events: [{ id: '7', name: 'seven' }] }, baseDir: dir, logger: silentLogger() });
  const a = await make('a');
  const b = await make('b');
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await a.host.emit('7');
  await a.host.emit('7');
  await b.host.emit('7');
  assert.equal(value(await (a.metrics?.scrape() ?? ''), 'hookwork_events_emitted_total', { event: '7' }), 2);
  assert.equal(value(await (b.metrics?.scrape() ?? ''), 'hookwork_events_emitted_total', { event: '7' }), 1);
});
