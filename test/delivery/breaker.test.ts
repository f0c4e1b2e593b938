// Circuit breakers (consecutive and failure-rate, half-open probes), their
// state shared through the store (two dispatchers on one PostgreSQL),
// disabling a target that fails without a success for
// endpoint_failure_disable_after, and per-target retry schedules.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CircuitBreaker } from '../../src/delivery/circuit-breaker.js';
import { deliveryConfigSchema } from '../../src/delivery/config-schema.js';
import { deliveryControlsOf } from '../../src/delivery/controls.js';
import { MemoryStore } from '../../src/delivery/memory-store.js';
import { PostgresStore } from '../../src/delivery/postgres-store.js';
import { DeliveryService } from '../../src/delivery/service.js';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import type { DeliveryStore } from '../../src/delivery/store.js';
import type { DeliveryTarget } from '../../src/delivery/types.js';
import { silentLogger } from '../../src/logger.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { testReceiver } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { waitFor } from '../helpers/wait-for.js';
import { handlerProblems } from '../config/helpers.js';

const T0 = 1_700_000_000_000;

test('failure_rate breaker: opens once the window holds min_requests and the failed share reaches the ratio, not before', () => {
  const b = new CircuitBreaker({ mode: 'failure_rate', failureRatio: 0.5, windowMs: 10_000, minRequests: 4, cooldownMs: 1000 });
  // Three failures: too few attempts to judge (a consecutive breaker at 3 would have opened).
  assert.equal(b.failure(T0), false);
  assert.equal(b.failure(T0 + 1), false);
  assert.equal(b.failure(T0 + 2), false);
  assert.equal(b.state(T0 + 3), 'closed');
  // Successes keep the ratio under 1/2 ...
  for (let i = 3; i < 8; i++) b.success(T0 + i);
  assert.equal(b.failure(T0 + 8), false, '4 failed of 9: under half');
  assert.equal(b.state(T0 + 8), 'closed');
  // ... and a fifth failure makes 5 of 10, the ratio: open, for the cool-down.
  assert.equal(b.failure(T0 + 8), true);
  assert.equal(b.state(T0 + 9), 'open');
  assert.equal(b.allowance(T0 + 9, 8), 0);
  assert.equal(b.state(T0 + 8 + 1000), 'half-open');
});

test('failure_rate breaker: the window slides, failures older than it no longer count', () => {
  const b = new CircuitBreaker({ mode: 'failure_rate', failureRatio: 0.5, windowMs: 10_000, minRequests: 4, cooldownMs: 1000 });
  for (let i = 0; i < 3; i++) b.failure(T0 + i);
  assert.deepEqual(b.windowCounts(T0 + 5), { total: 3, failed: 3 });
  // 20 s later the old failures are out of the window: one more failure is 1 of 1, below min_requests.
  assert.equal(b.failure(T0 + 20_000), false);
  assert.deepEqual(b.windowCounts(T0 + 20_000), { total: 1, failed: 1 });
  assert.equal(b.state(T0 + 20_001), 'closed');
});

test('half-open probes: N probes go through at once; all must succeed to close, one failure opens again', () => {
  const b = new CircuitBreaker({ mode: 'consecutive', failures: 2, cooldownMs: 1000, halfOpenProbes: 2 });
  b.failure(T0);
  assert.equal(b.failure(T0 + 1), true);
  const half = T0 + 1001;
  assert.equal(b.allowance(half, 8), 2, 'two probes');
  b.started(half);
  b.started(half);
  assert.equal(b.allowance(half, 8), 0, 'no third');
  assert.equal(b.success(half + 5), false, 'one probe succeeded: still half-open');
  assert.equal(b.state(half + 5), 'half-open');
  assert.equal(b.success(half + 6), true, 'both succeeded: closed');
  assert.equal(b.state(half + 6), 'closed');
  // Again, and this time a probe fails: open for a full cool-down.
  b.failure(half + 10);
  b.failure(half + 11);
  b.started(half + 1011);
  assert.equal(b.failure(half + 1012), true);
  assert.equal(b.state(half + 1013), 'open');
  assert.equal(b.openUntil, half + 1012 + 1000);
});

test('target controls from the config: rate in per second, burst defaulting to a second of it (at least 1), seconds to ms', () => {
  assert.equal(deliveryControlsOf({}), undefined);
  assert.deepEqual(deliveryControlsOf({ rate_limit: { per_minute: 30 } }), { rateLimit: { perSecond: 0.5, burst: 1 } });
  assert.deepEqual(deliveryControlsOf({ rate_limit: { per_second: 20 }, retry_schedule: [0, 1], circuit_breaker: { mode: 'failure_rate', window: 30 }, endpoint_failure_disable_after: 60 }), {
    rateLimit: { perSecond: 20, burst: 20 },
    retrySchedule: [0, 1],
    breaker: { mode: 'failure_rate', windowMs: 30_000 },
    disableAfterMs: 60_000,
  });
});

for (const kind of ['memory', 'sqlite', 'postgres'] as const) {
  test(`the ${kind} store keeps target health: a circuit per target, a failing time kept from its first failure and ended by a later success only`, async (t) => {
    let store: DeliveryStore;
    if (kind === 'memory') store = new MemoryStore();
    else if (kind === 'postgres') store = new PostgresStore({ url: await pg.createDatabase('health_contract'), logger: silentLogger() });
    else {
      const dir = mkdtempSync(join(tmpdir(), 'hookwork-health-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      store = new SqliteStore({ file: join(dir, 'h.db') });
    }
    t.after(() => store.close());
    await store.migrate();
    assert.deepEqual(await store.targetHealth(), []);
    await store.saveCircuit('a', 'open', T0 + 30_000, T0, 'node-1');
    await store.markFailing('a', T0 - 5);
    await store.markFailing('a', T0 + 50); // already failing: the first time stays
    await store.markFailing('b', T0 + 7);
    await store.clearFailing('b', T0 + 6); // a success before it began does not end it
    assert.deepEqual(await store.targetHealth(), [
      { target: 'a', circuit: { state: 'open', openUntil: T0 + 30_000, at: T0, nodeId: 'node-1' }, failingSince: T0 - 5 },
      { target: 'b', failingSince: T0 + 7 },
    ]);
    await store.saveCircuit('a', 'closed', 0, T0 + 40_000, 'node-2');
    await store.clearFailing('a', T0 + 40_000);
    assert.deepEqual(await store.targetHealth(), [
      { target: 'a', circuit: { state: 'closed', openUntil: 0, at: T0 + 40_000, nodeId: 'node-2' } },
      { target: 'b', failingSince: T0 + 7 },
    ]);
  });
}

test('per-target retry schedule: its own number of attempts and first delay, the others keep the global one', async (t) => {
  const service = new DeliveryService({
    store: new MemoryStore(),
    config: deliveryConfigSchema.parse({ retry_schedule: [0, 0.01, 0.01, 0.01, 0.01], jitter: 0, poll_interval: 0.05, circuit_breaker: { failures: 0 } }),
    nodeId: 'n',
    logger: silentLogger(),
  });
  await service.start();
  t.after(() => service.close());
  const failing = (name: string, retrySchedule?: number[]): DeliveryTarget => ({
    name,
    kind: 'webhook',
    ...(retrySchedule === undefined ? {} : { controls: { retrySchedule } }),
    attempt: async () => ({ ok: false, retryable: true, error: 'HTTP 503' }),
  });
  service.registerTarget(failing('own', [0, 0.01]));
  service.registerTarget(failing('global'));
  service.registerTarget(failing('later', [3600]));
  const before = Date.now();
  const [own, global, later] = await service.enqueue([
    { target: 'own', event: { id: '1' } },
    { target: 'global', event: { id: '1' } },
    { target: 'later', event: { id: '1' } },
  ]);
  await waitFor(async () => (await service.list({ state: 'failed' })).length === 2, { what: 'two dead letters' });
  assert.equal((await service.get(own!.id)).attempts.length, 2, 'its own schedule: 2 attempts');
  assert.equal((await service.get(global!.id)).attempts.length, 5, 'the global schedule: 5 attempts');
  const waiting = (await service.get(later!.id)).delivery;
  assert.equal(waiting.state, 'pending');
  assert.ok(waiting.dueAt >= before + 3_600_000, 'its own first delay (an hour)');
});

test('endpoint_failure_disable_after on a SQLite file: a webhook failing without a success for that long is disabled, its delivery waits, and event 20522 says so; a success ends the failing time', async (t) => {
  const receiver = await testReceiver(t);
  let healthy = false;
  receiver.respond((req, res) => {
    res.writeHead(req.url === '/ok' || healthy ? 200 : 503).end();
  });
  const runtime = await testRuntime(t, {
    events: [{ id: '7', name: 'demo' }, { id: '8', name: 'other' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    delivery: { poll_interval: 0.05, jitter: 0, retry_schedule: [0, ...Array.from({ length: 40 }, () => 0.05)], circuit_breaker: { failures: 0 } },
    handlers: [
      { type: 'webhook', name: 'dying', url: `${receiver.url}/dying`, actions: ['demo'], endpoint_failure_disable_after: 0.4 },
      { type: 'webhook', name: 'flaky', url: `${receiver.url}/flaky`, actions: ['other'], endpoint_failure_disable_after: 3600 },
    ],
  });
  const events: Array<Record<string, unknown>> = [];
  runtime.host.on('20522', (e) => void events.push({ ...e.data }));
  await runtime.host.emit('7', { data: {} });
  const delivery = runtime.services.delivery!;
  await waitFor(() => events.length === 1, { what: 'event 20522', timeoutMs: 10_000 });
  assert.equal(events[0]?.['target'], 'handler:dying');
  assert.equal(events[0]?.['disable_after'], 0.4);
  assert.match(String(events[0]?.['reason']), /no successful attempt since .*endpoint_failure_disable_after: 0\.4 s.*503/);
  const disabled = await delivery.store.disabledTargets();
  assert.deepEqual(disabled.map((d) => d.target), ['handler:dying']);
  // The failed attempt's outcome is written at the dispatcher's next tick, maybe just after the event.
  await waitFor(async () => (await delivery.list({ target: 'handler:dying' }))[0]?.state === 'pending', { what: 'its delivery waiting for the target to be enabled' });
  const health = (await delivery.store.targetHealth()).find((h) => h.target === 'handler:dying');
  assert.ok(health?.failingSince !== undefined, 'the failing time is in the store');
  // Enabled again, it starts afresh: its failing time ends, so the next failure does not disable it at once.
  const enabledAt = Date.now();
  assert.equal(await delivery.admin.enableTarget('handler:dying'), true);
  await receiver.waitFor(receiver.requests.filter((r) => r.url === '/dying').length + 1);
  await waitFor(async () => {
    const since = (await delivery.store.targetHealth()).find((h) => h.target === 'handler:dying')?.failingSince;
    return since === undefined || since >= enabledAt;
  }, { what: 'failing time restarted after enable' });
  // A failing time ends with a success: the store forgets it.
  await delivery.enqueue([{ target: 'handler:flaky', event: { id: '8', data: {} } }]);
  await waitFor(async () => (await delivery.store.targetHealth()).some((h) => h.target === 'handler:flaky' && h.failingSince !== undefined), { what: 'flaky failing' });
  healthy = true;
  await waitFor(async () => (await delivery.list({ target: 'handler:flaky', state: 'done' })).length === 1, { what: 'flaky delivered' });
  await waitFor(async () => (await delivery.store.targetHealth()).find((h) => h.target === 'handler:flaky')?.failingSince === undefined, { what: 'failing time ended' });
});

let pg: ThrowawayPostgres;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

test('two dispatchers on one PostgreSQL: a circuit one opens is open on the other (no attempt there), and closes on both after one probe succeeds', async (t) => {
  const url = await pg.createDatabase('breaker_shared');
  const config = deliveryConfigSchema.parse({
    poll_interval: 0.05,
    jitter: 0,
    retry_schedule: Array.from({ length: 30 }, () => 0.02),
    // A cool-down long enough that node b's first look comes well before a probe may go (a loaded machine is slow to get there).
    circuit_breaker: { mode: 'failure_rate', min_requests: 4, failure_ratio: 0.5, window: 60, cooldown: 3 },
  });
  const nodes = ['node-a', 'node-b'].map(
    (nodeId) => new DeliveryService({ store: new PostgresStore({ url, logger: silentLogger() }), config, nodeId, logger: silentLogger() }),
  );
  t.after(async () => {
    for (const n of nodes) await n.close();
  });
  let healthy = false;
  const attempts = new Map<string, number>();
  const targetOn = (node: DeliveryService): DeliveryTarget => ({
    name: 'shaky',
    kind: 'webhook',
    async attempt() {
      attempts.set(node.nodeId, (attempts.get(node.nodeId) ?? 0) + 1);
      return healthy ? { ok: true, httpStatus: 200 } : { ok: false, retryable: true, httpStatus: 503 };
    },
  });
  const [a, b] = nodes as [DeliveryService, DeliveryService];
  await a.start();
  a.registerTarget(targetOn(a));
  await a.enqueue(Array.from({ length: 3 }, (_, i) => ({ target: 'shaky', event: { id: '1', data: { i } } })));
  await waitFor(async () => (await a.depth()).find((d) => d.target === 'shaky')?.circuit?.state === 'open', { what: 'open on node a' });
  // Node a records the circuit off the attempt's path; other nodes learn it from their next read of the store.
  const observer = new PostgresStore({ url, logger: silentLogger() });
  t.after(() => observer.close());
  await waitFor(async () => (await observer.targetHealth()).find((h) => h.target === 'shaky')?.circuit?.state === 'open', { what: 'open in the store' });
  // Node b starts and serves the target only now: it learns the circuit is open from the store, and sends nothing.
  await b.start();
  b.registerTarget(targetOn(b));
  await waitFor(async () => (await b.depth()).find((d) => d.target === 'shaky')?.circuit?.state === 'open', { what: 'open on node b' });
  assert.equal(attempts.get('node-b') ?? 0, 0, 'node b made no attempt while the circuit is open');
  healthy = true;
  // After the cool-down a probe (on either node) succeeds; both close and deliver the rest.
  await waitFor(async () => (await a.list({ state: 'done', target: 'shaky' })).length === 3, { what: 'all delivered', timeoutMs: 15_000 });
  await waitFor(async () => (await b.depth()).find((d) => d.target === 'shaky')?.circuit?.state === 'closed', { what: 'closed on node b' });
  await waitFor(async () => (await a.depth()).find((d) => d.target === 'shaky')?.circuit?.state === 'closed', { what: 'closed on node a' });
});

test('delivery controls on a "sync: true" handler are a config problem naming each (it runs inline, outside the queue)', () => {
  const problems = handlerProblems([
    { type: 'webhook', name: 'inline', url: 'https://e.example/a', sync: true, rate_limit: { per_second: 5 }, retry_schedule: [1, 2], max_pending: 10 },
    { type: 'webhook', name: 'queued', url: 'https://e.example/b', rate_limit: { per_second: 5 }, retry_schedule: [1, 2], max_pending: 10 },
  ]);
  assert.deepEqual(problems.map((p) => p.key).sort(), ['handlers.0.max_pending', 'handlers.0.rate_limit', 'handlers.0.retry_schedule']);
  assert.match(problems[0]?.message ?? '', /sync: true/);
});
