// Two runtimes (two nodes) sharing one store run the same schedule: each tick
// fires exactly once between them, on a real PostgreSQL and on one SQLite
// file. Pause and resume over HTTP hold for both nodes.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { createGateway } from '../../src/server/gateway.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';

let pg: ThrowawayPostgres;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

function config(storeUrl: string): HookworkConfigInput {
  return {
    store: { url: storeUrl },
    auth: { tokens: [{ name: 'ops', role: 'operator', token: OPERATOR }, { name: 'v', role: 'viewer', token: VIEWER }] },
    events: [{ id: '40001', name: 'minute-report' }],
    schedules: [{ name: 'every-minute', cron: '* * * * *', event: 'minute-report', data: { kind: 'sweep' } }],
  };
}

interface Node {
  readonly runtime: Runtime;
  readonly fired: string[];
}

async function twoNodes(t: { after(fn: () => Promise<void> | void): void }, storeUrl: string, clock: FakeClock): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const nodeId of ['node-a', 'node-b']) {
    const dir = mkdtempSync(join(tmpdir(), 'hookwork-schedules-'));
    const runtime = await createRuntime({ config: { ...config(storeUrl), server: { data_dir: join(dir, 'data') } }, baseDir: dir, logger: silentLogger(), nodeId, clock });
    const fired: string[] = [];
    runtime.host.on('40001', (event) => void fired.push((event.data['schedule'] as { fired_at: string }).fired_at));
    t.after(async () => {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    });
    nodes.push({ runtime, fired });
  }
  return nodes;
}

/** Moves the clock through `minutes` ticks, each once both nodes wait for it, and waits until each fired somewhere. */
async function runTicks(clock: FakeClock, nodes: readonly Node[], minutes: readonly string[]): Promise<void> {
  for (const at of minutes) {
    await waitFor(() => clock.waiting().filter((w) => w === at).length === nodes.length, { what: `both nodes armed for ${at} (${clock.waiting().join(', ')})` });
    clock.advanceTo(at);
    await waitFor(() => nodes.some((n) => n.fired.includes(at)), { what: `the tick ${at} fired` });
  }
  // Both nodes past the last tick (armed for the next): no late second firing is possible any more.
  const next = new Date(Date.parse(minutes[minutes.length - 1] as string) + 60_000).toISOString();
  await waitFor(() => clock.waiting().filter((w) => w === next).length === nodes.length);
  for (const node of nodes) await node.runtime.host.idle();
}

const MINUTES = ['2024-06-01T10:00:00.000Z', '2024-06-01T10:01:00.000Z', '2024-06-01T10:02:00.000Z', '2024-06-01T10:03:00.000Z'];

test('two nodes on one PostgreSQL: each tick fires exactly once across both', async (t) => {
  const clock = new FakeClock('2024-06-01T09:59:30Z');
  const nodes = await twoNodes(t, await pg.createDatabase('schedules_two'), clock);
  await runTicks(clock, nodes, MINUTES);
  assert.deepEqual(nodes.flatMap((n) => n.fired).sort(), MINUTES);
});

test('two nodes on one SQLite file: each tick fires exactly once across both', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-schedules-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock('2024-06-01T09:59:30Z');
  const nodes = await twoNodes(t, `sqlite:${join(dir, 'shared.db')}`, clock);
  await runTicks(clock, nodes, MINUTES);
  assert.deepEqual(nodes.flatMap((n) => n.fired).sort(), MINUTES);
});

async function call(url: string, method: 'GET' | 'POST', path: string, token?: string) {
  const res = await request(`${url}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

test('pause and resume over HTTP (operator) hold on both nodes; GET /v1/schedules (viewer) shows the state, next tick and last fired', async (t) => {
  const clock = new FakeClock('2024-06-01T09:59:30Z');
  const nodes = await twoNodes(t, await pg.createDatabase('schedules_http'), clock);
  const gateway = await createGateway(nodes[0]!.runtime, { port: 0, host: '127.0.0.1' });
  t.after(() => gateway.close());
  const url = await gateway.listen();

  assert.equal((await call(url, 'POST', '/v1/schedules/every-minute/pause')).status, 401);
  assert.equal((await call(url, 'POST', '/v1/schedules/every-minute/pause', VIEWER)).status, 403);
  const missing = await call(url, 'POST', '/v1/schedules/nope/pause', OPERATOR);
  assert.equal(missing.status, 404);
  assert.equal(missing.body['code'], 'HKW_ERR_SCHEDULE_NOT_FOUND');

  const paused = await call(url, 'POST', '/v1/schedules/every-minute/pause', OPERATOR);
  assert.equal(paused.status, 200);
  assert.equal((paused.body['schedule'] as { paused: boolean }).paused, true);
  // Paused: neither node fires the 10:00 tick.
  await waitFor(() => clock.waiting().filter((w) => w === MINUTES[0]).length === 2);
  clock.advanceTo(MINUTES[0] as string);
  await waitFor(() => clock.waiting().filter((w) => w === MINUTES[1]).length === 2);
  for (const node of nodes) await node.runtime.host.idle();
  assert.deepEqual(nodes.flatMap((n) => n.fired), []);
  const listed = await call(url, 'GET', '/v1/schedules', VIEWER);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body['schedules'], [
    {
      name: 'every-minute',
      cron: '* * * * *',
      timezone: null,
      event: 'minute-report',
      enabled: true,
      catch_up: 'none',
      paused: true,
      next_fire_at: MINUTES[1],
      last_fired: null,
    },
  ]);

  const resumed = await call(url, 'POST', '/v1/schedules/every-minute/resume', OPERATOR);
  assert.equal((resumed.body['schedule'] as { paused: boolean }).paused, false);
  clock.advanceTo(MINUTES[1] as string);
  await waitFor(() => nodes.some((n) => n.fired.includes(MINUTES[1] as string)));
  await waitFor(() => clock.waiting().filter((w) => w === MINUTES[2]).length === 2);
  assert.deepEqual(nodes.flatMap((n) => n.fired), [MINUTES[1]]);
  const after = (await call(url, 'GET', '/v1/schedules', VIEWER)).body['schedules'] as Array<{ paused: boolean; last_fired: { fired_at: string; node: string } }>;
  assert.equal(after[0]?.paused, false);
  assert.equal(after[0]?.last_fired.fired_at, MINUTES[1]);
  assert.ok(['node-a', 'node-b'].includes(after[0]?.last_fired.node as string));
});
