import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliveryConfigSchema, type DeliveryConfigInput } from '../../src/delivery/config-schema.js';
import { MemoryStore } from '../../src/delivery/memory-store.js';
import { DeliveryService } from '../../src/delivery/service.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import { clipResponse, type DeliveryStore, type StoredDeliveryInput } from '../../src/delivery/store.js';
import type { AttemptContext, AttemptRecord, AttemptResult, DeliveryRecord, DeliveryTarget } from '../../src/delivery/types.js';
import { Monitor, type MonitoringPoint } from '../../src/hooks/monitor.js';
import { silentLogger } from '../../src/logger.js';
import { waitFor } from '../helpers/wait-for.js';

interface Harness {
  service: DeliveryService;
  store: DeliveryStore;
  failed: Array<{ delivery: DeliveryRecord; attempt: AttemptRecord }>;
  disabled: string[];
  monitor: Monitor;
}

async function harness(config: DeliveryConfigInput = {}, store: DeliveryStore = new MemoryStore()): Promise<Harness> {
  const failed: Harness['failed'] = [];
  const disabled: string[] = [];
  const monitor = new Monitor({ batchSize: 1 });
  const service = new DeliveryService({
    store,
    config: deliveryConfigSchema.parse({ retry_schedule: [0, 0.01, 0.01], jitter: 0, poll_interval: 0.05, ...config }),
    nodeId: 'test-node',
    logger: silentLogger(),
    monitor,
    onFailed: (delivery, attempt) => failed.push({ delivery, attempt }),
    onTargetDisabled: (target) => disabled.push(target),
  });
  await service.start();
  return { service, store, failed, disabled, monitor };
}

function target(name: string, attempt: (d: DeliveryRecord, c: AttemptContext) => Promise<AttemptResult>, concurrency?: number): DeliveryTarget {
  return { name, kind: 'webhook', ...(concurrency === undefined ? {} : { concurrency }), attempt };
}

const event = (n: number) => ({ id: '1001', data: { n } });

test('delivers enqueued deliveries and records each attempt', async () => {
  const h = await harness();
  try {
    const got: Array<{ n: unknown; webhookId: string; attempt: number }> = [];
    h.service.registerTarget(
      target('a', async (d, c) => {
        got.push({ n: (d.event['data'] as { n: number }).n, webhookId: c.webhookId, attempt: c.attempt });
        return { ok: true, httpStatus: 200, response: 'thanks' };
      }),
    );
    const records = await h.service.enqueue([{ target: 'a', event: event(1) }, { target: 'a', event: event(2), webhookId: 'msg_mine' }]);
    assert.equal(records.length, 2);
    assert.match(records[0]?.webhookId ?? '', /^msg_/);
    assert.equal(records[1]?.webhookId, 'msg_mine');
    await waitFor(async () => (await h.store.list({ state: 'done' })).length === 2, { what: 'both delivered' });
    assert.deepEqual(got.map((g) => g.n).sort(), [1, 2]);
    assert.ok(got.some((g) => g.webhookId === 'msg_mine' && g.attempt === 1));
    const detail = await h.service.get(records[0]?.id as string);
    assert.equal(detail.attempts.length, 1);
    assert.equal(detail.attempts[0]?.httpStatus, 200);
    assert.equal(detail.attempts[0]?.response, 'thanks');
    assert.ok(detail.attempts[0]?.startedAt !== undefined && detail.attempts[0].durationMs >= 0);
    await assert.rejects(h.service.get('dlv_missing'), { code: 'HKW_ERR_DELIVERY_NOT_FOUND' });
  } finally {
    await h.service.close();
  }
});

test('retries retryable failures with the same webhook id, then dead-letters with a failed report', async () => {
  const h = await harness({ retry_schedule: [0, 0.01, 0.01] });
  try {
    const ids = new Set<string>();
    let calls = 0;
    h.service.registerTarget(
      target('a', async (_d, c) => {
        calls += 1;
        ids.add(c.webhookId);
        return { ok: false, retryable: true, httpStatus: 503, error: 'HTTP 503', response: 'x'.repeat(10_000) };
      }),
    );
    const [rec] = await h.service.enqueue([{ target: 'a', event: event(1) }]);
    await waitFor(() => h.failed.length === 1, { what: 'dead letter' });
    assert.equal(calls, 3, 'one attempt per schedule entry');
    assert.equal(ids.size, 1, 'same webhook id on every attempt');
    const detail = await h.service.get(rec?.id as string);
    assert.equal(detail.delivery.state, 'failed');
    assert.deepEqual(detail.attempts.map((a) => a.attempt), [1, 2, 3]);
    assert.equal(detail.attempts[0]?.response?.length, 4096, 'response clipped to 4 KiB');
    assert.equal(h.failed[0]?.delivery.id, rec?.id);
    assert.equal(h.failed[0]?.attempt.httpStatus, 503);
  } finally {
    await h.service.close();
  }
});

test('a long multibyte response is clipped to 4 KiB on a character boundary (no broken UTF-8)', async () => {
  const h = await harness();
  try {
    // [response, what is kept]: the cut at 4096 bytes falls inside a 2-, 3- and 4-byte character, or on a boundary.
    const cases: Array<[string, string]> = [
      [`a${'é'.repeat(3000)}`, `a${'é'.repeat(2047)}`],
      [`ab${'€'.repeat(2000)}`, `ab${'€'.repeat(1364)}`],
      [`ab${'😀'.repeat(2000)}`, `ab${'😀'.repeat(1023)}`],
      [`${'€'.repeat(1365)}x`, `${'€'.repeat(1365)}x`],
      [`${'€'.repeat(1366)}`, `${'€'.repeat(1365)}`],
    ];
    h.service.registerTarget(target('a', async (d) => ({ ok: true, response: (cases[(d.event['data'] as { n: number }).n] as [string, string])[0] })));
    const recs = await h.service.enqueue(cases.map((_, i) => ({ target: 'a', event: event(i) })));
    await waitFor(async () => (await h.store.list({ state: 'done' })).length === cases.length, { what: 'all delivered' });
    for (const [i, rec] of recs.entries()) {
      const kept = (await h.service.get(rec.id)).attempts[0]?.response ?? '';
      const expected = (cases[i] as [string, string])[1];
      assert.ok(Buffer.byteLength(kept) <= 4096, `case ${i}: at most 4 KiB`);
      assert.equal(kept.includes('\uFFFD'), false, `case ${i}: no replacement character`);
      assert.equal(kept.length, expected.length, `case ${i}: length`);
      assert.equal(kept, expected, `case ${i}: the longest whole-character prefix`);
      assert.equal(Buffer.from(kept, 'utf8').toString('utf8'), kept, `case ${i}: valid UTF-8`);
    }
  } finally {
    await h.service.close();
  }
});

test('a non-retryable failure dead-letters at once; a thrown error is retried', async () => {
  const h = await harness({ retry_schedule: [0, 0.01] });
  try {
    let thrown = 0;
    h.service.registerTarget(target('final', async () => ({ ok: false, retryable: false, httpStatus: 400, error: 'HTTP 400' })));
    h.service.registerTarget(
      target('throws', async () => {
        thrown += 1;
        if (thrown === 1) throw new Error('socket hang up');
        return { ok: true };
      }),
    );
    const [a] = await h.service.enqueue([{ target: 'final', event: event(1) }]);
    const [b] = await h.service.enqueue([{ target: 'throws', event: event(2) }]);
    await waitFor(async () => (await h.service.get(b?.id as string)).delivery.state === 'done');
    await waitFor(async () => (await h.service.get(a?.id as string)).delivery.state === 'failed');
    assert.equal((await h.service.get(a?.id as string)).attempts.length, 1);
    const bAttempts = (await h.service.get(b?.id as string)).attempts;
    assert.equal(bAttempts[0]?.error, 'socket hang up');
    assert.equal(bAttempts[0]?.ok, false);
  } finally {
    await h.service.close();
  }
});

test('Retry-After delays the next attempt beyond the schedule, capped by retry_after_max', async () => {
  const h = await harness({ retry_schedule: [0, 0, 0], retry_after_max: 3600 });
  try {
    let calls = 0;
    h.service.registerTarget(
      target('a', async () => {
        calls += 1;
        return { ok: false, retryable: true, httpStatus: 429, retryAfterMs: 60_000 };
      }),
    );
    const before = Date.now();
    const [rec] = await h.service.enqueue([{ target: 'a', event: event(1) }]);
    await waitFor(async () => (await h.service.get(rec?.id as string)).attempts.length === 1);
    await waitFor(async () => (await h.service.get(rec?.id as string)).delivery.state === 'pending');
    const d = (await h.service.get(rec?.id as string)).delivery;
    assert.ok(d.dueAt >= before + 60_000, 'not before Retry-After');
    assert.equal(calls, 1);
  } finally {
    await h.service.close();
  }
});

test('410 disables the target: its deliveries wait until it is enabled again', async () => {
  const h = await harness();
  try {
    let gone = true;
    let calls = 0;
    h.service.registerTarget(
      target(
        'a',
        async () => {
          calls += 1;
          return gone ? { ok: false, httpStatus: 410, disableTarget: true, error: 'HTTP 410' } : { ok: true };
        },
        1,
      ),
    );
    await h.service.enqueue([{ target: 'a', event: event(1) }, { target: 'a', event: event(2) }]);
    await waitFor(() => h.disabled.length === 1, { what: 'target disabled' });
    // The 410 attempt's outcome is written at the dispatcher's next tick, which may come after the disabled callback.
    await waitFor(async () => (await h.service.depth()).find((x) => x.target === 'a')?.pending === 2, { what: 'deliveries stay pending' });
    const depth = (await h.service.depth()).find((x) => x.target === 'a');
    assert.equal(depth?.pending, 2, 'deliveries stay pending');
    assert.match(depth?.disabled?.reason ?? '', /410/);
    const callsWhenDisabled = calls;
    // A few poll intervals pass without attempts.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(calls, callsWhenDisabled);
    gone = false;
    assert.equal(await h.service.enableTarget('a'), true);
    await waitFor(async () => (await h.store.list({ state: 'done' })).length === 2, { what: 'delivered after enable' });
    const all = await h.store.list();
    for (const d of all) assert.equal(d.attempts, 1, 'the 410 attempt did not use up the schedule');
  } finally {
    await h.service.close();
  }
});

test('per-target concurrency is never exceeded', async () => {
  const h = await harness();
  try {
    let running = 0;
    let peak = 0;
    h.service.registerTarget(
      target(
        'a',
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running -= 1;
          return { ok: true };
        },
        3,
      ),
    );
    await h.service.enqueue(Array.from({ length: 60 }, (_, i) => ({ target: 'a', event: event(i) })));
    await waitFor(async () => (await h.store.list({ state: 'done', limit: 1000 })).length === 60);
    assert.equal(peak, 3);
  } finally {
    await h.service.close();
  }
});

test('a fast target claims no further ahead than its concurrency from the memory store (no round trip to cover), and up to four rounds ahead from a durable one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-prefetch-'));
  try {
    for (const [kind, store, most] of [
      ['memory', new MemoryStore(), 3],
      ['sqlite', new SqliteStore({ file: join(dir, 'prefetch.db') }), 12],
    ] as const) {
      const h = await harness({}, store);
      try {
        // Claimed (running, and waiting ready in this node) at each attempt's start.
        let peak = 0;
        h.service.registerTarget(
          target(
            'a',
            async () => {
              peak = Math.max(peak, (await h.store.list({ state: 'inflight', limit: 1000 })).length);
              await new Promise((resolve) => setTimeout(resolve, 2));
              return { ok: true };
            },
            3,
          ),
        );
        await h.service.enqueue(Array.from({ length: 120 }, (_, i) => ({ target: 'a', event: event(i) })));
        await waitFor(async () => (await h.store.list({ state: 'done', limit: 1000 })).length === 120, { what: `all done (${kind})` });
        assert.ok(peak <= most, `${kind}: ${peak} claimed at once`);
        // The durable store's window did open past the concurrency: the bound above is the prefetch, not a slow claim.
        if (kind === 'sqlite') assert.ok(peak > 3, `sqlite: ${peak} claimed at once`);
      } finally {
        await h.service.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hanging target and a failing target do not hold up the others', async () => {
  const h = await harness({ retry_schedule: [0, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01], circuit_breaker: { failures: 3, cooldown: 3600 } });
  const release: Array<() => void> = [];
  try {
    h.service.registerTarget(target('hang', () => new Promise<AttemptResult>((resolve) => release.push(() => resolve({ ok: true }))), 2));
    h.service.registerTarget(target('dead', async () => ({ ok: false, retryable: true, error: 'ECONNREFUSED' }), 2));
    h.service.registerTarget(target('good', async () => ({ ok: true }), 2));
    await h.service.enqueue([
      ...Array.from({ length: 20 }, (_, i) => ({ target: 'hang', event: event(i) })),
      ...Array.from({ length: 20 }, (_, i) => ({ target: 'dead', event: event(i) })),
      ...Array.from({ length: 100 }, (_, i) => ({ target: 'good', event: event(i) })),
    ]);
    await waitFor(async () => (await h.store.list({ state: 'done', target: 'good', limit: 1000 })).length === 100, {
      what: 'all good deliveries',
    });
    const depth = await h.service.depth();
    const hang = depth.find((d) => d.target === 'hang');
    assert.equal(hang?.inflight, 2, 'the hanging target holds only its own slots');
    assert.equal(hang?.pending, 18);
    const dead = depth.find((d) => d.target === 'dead');
    assert.equal(dead?.circuit?.state, 'open', 'the failing target is paused by its breaker');
  } finally {
    for (const r of release) r();
    await h.service.close();
  }
});

test('circuit breaker: opens after N consecutive failures, probes after the cool-down, closes on success', async () => {
  const h = await harness({ retry_schedule: Array.from({ length: 20 }, () => 0), circuit_breaker: { failures: 3, cooldown: 0.3 } });
  try {
    let healthy = false;
    // The breaker as this node sees it when each attempt starts: the probe must
    // find it half-open (cool-down over), never open.
    const atStart: Array<{ state: string; failures: number }> = [];
    h.service.registerTarget(
      target(
        'a',
        async () => {
          const circuit = (await h.service.depth()).find((x) => x.target === 'a')?.circuit;
          atStart.push({ state: circuit?.state ?? '?', failures: circuit?.consecutiveFailures ?? -1 });
          return healthy ? { ok: true } : { ok: false, retryable: true, error: 'HTTP 500' };
        },
        1,
      ),
    );
    const [rec] = await h.service.enqueue([{ target: 'a', event: event(1) }]);
    await waitFor(async () => (await h.service.depth()).find((x) => x.target === 'a')?.circuit?.state === 'open', { what: 'circuit open' });
    assert.equal(atStart.length, 3, 'paused after 3 failures');
    healthy = true;
    await waitFor(async () => (await h.service.get(rec?.id as string)).delivery.state === 'done', { what: 'probe succeeded' });
    assert.deepEqual(
      atStart,
      [
        { state: 'closed', failures: 0 },
        { state: 'closed', failures: 1 },
        { state: 'closed', failures: 2 },
        { state: 'half-open', failures: 3 },
      ],
      'three attempts while closed, then exactly one probe, started only once the cool-down was over',
    );
    const circuit = (await h.service.depth()).find((x) => x.target === 'a')?.circuit;
    assert.deepEqual({ state: circuit?.state, failures: circuit?.consecutiveFailures }, { state: 'closed', failures: 0 });
  } finally {
    await h.service.close();
  }
});

test('circuit breaker: a half-open probe answered with 410 does not wedge the breaker; after enable the target is probed and delivered to again', async () => {
  const h = await harness({ retry_schedule: Array.from({ length: 20 }, () => 0), circuit_breaker: { failures: 2, cooldown: 0.05 } });
  try {
    let calls = 0;
    let phase: 'failing' | 'gone' | 'healthy' = 'failing';
    const statesAtStart: string[] = [];
    h.service.registerTarget(
      target(
        'a',
        async () => {
          calls += 1;
          statesAtStart.push((await h.service.depth()).find((x) => x.target === 'a')?.circuit?.state ?? '?');
          if (phase === 'healthy') return { ok: true };
          if (calls === 2) phase = 'gone';
          if (calls <= 2) return { ok: false, retryable: true, error: 'HTTP 500' };
          return { ok: false, httpStatus: 410, disableTarget: true, error: 'HTTP 410' };
        },
        1,
      ),
    );
    const [rec] = await h.service.enqueue([{ target: 'a', event: event(1) }]);
    await waitFor(() => h.disabled.length === 1, { what: 'the probe got a 410 and disabled the target' });
    assert.equal(calls, 3);
    assert.deepEqual(statesAtStart, ['closed', 'closed', 'half-open'], 'the 410 came from the probe');
    phase = 'healthy';
    assert.equal(await h.service.enableTarget('a'), true);
    await waitFor(async () => (await h.service.get(rec?.id as string)).delivery.state === 'done', { what: 'delivered after enable' });
    assert.equal(calls, 4);
    assert.equal(statesAtStart[3], 'half-open', 'the first attempt after enable is a fresh probe');
    assert.equal((await h.service.depth()).find((x) => x.target === 'a')?.circuit?.state, 'closed');
  } finally {
    await h.service.close();
  }
});

test('concurrent enqueues are group-committed into one store write (a durable store); memory writes each at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-group-'));
  const spy = <S extends DeliveryStore>(store: S): { store: S; batches: number[] } => {
    const batches: number[] = [];
    const original = store.enqueue.bind(store);
    store.enqueue = async (rows: readonly StoredDeliveryInput[]) => {
      batches.push(rows.length);
      return original(rows);
    };
    const now = store.enqueueNow?.bind(store);
    if (now !== undefined) {
      store.enqueueNow = (rows: readonly StoredDeliveryInput[]) => {
        batches.push(rows.length);
        now(rows);
      };
    }
    return { store, batches };
  };
  const durable = spy(new SqliteStore({ file: join(dir, 'group.db') }));
  const memory = spy(new MemoryStore());
  try {
    for (const { store, batches } of [durable, memory]) {
      const h = await harness({}, store);
      try {
        await Promise.all(Array.from({ length: 50 }, (_, i) => h.service.enqueue([{ target: 'nobody', event: event(i) }])));
        assert.equal(batches.reduce((a, b) => a + b, 0), 50);
        assert.equal(batches.length, store === durable.store ? 1 : 50, store.kind);
        assert.equal((await h.store.list({ limit: 100 })).length, 50);
      } finally {
        await h.service.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('monitoring points are recorded for attempts while someone listens', async () => {
  const h = await harness();
  try {
    const points: MonitoringPoint[] = [];
    const off = h.monitor.subscribe((batch) => points.push(...batch));
    h.service.registerTarget(target('a', async () => ({ ok: true, httpStatus: 204 })));
    await h.service.enqueue([{ target: 'a', event: event(1) }]);
    await waitFor(() => points.some((p) => p.kind === 'delivery'));
    const p = points.find((x) => x.kind === 'delivery');
    assert.equal(p?.name, 'a');
    assert.equal(p?.outcome, 'ok');
    assert.equal(p?.detail?.['http_status'], 204);
    off();
  } finally {
    await h.service.close();
  }
});

test('close() waits for attempts in flight, then aborts the rest and gives them back unused', async () => {
  const h = await harness({ shutdown_grace: 0.05 });
  let finishedQuick = false;
  let sawAbort = false;
  h.service.registerTarget(
    target('quick', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      finishedQuick = true;
      return { ok: true };
    }),
  );
  h.service.registerTarget(
    target(
      'stuck',
      (_d, c) =>
        new Promise<AttemptResult>((resolve) => {
          c.signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve({ ok: false, retryable: true, error: 'aborted' });
          });
        }),
    ),
  );
  const [q] = await h.service.enqueue([{ target: 'quick', event: event(1) }]);
  const [s] = await h.service.enqueue([{ target: 'stuck', event: event(2) }]);
  await waitFor(() => h.service.inflight === 2);
  await h.service.close();
  assert.equal(finishedQuick, true);
  assert.equal(sawAbort, true);
  assert.equal((await h.store.get(q?.id as string))?.delivery.state, 'done');
  const stuck = (await h.store.get(s?.id as string))?.delivery;
  assert.equal(stuck?.state, 'pending');
  assert.equal(stuck?.attempts, 0, 'an attempt cut short by shutdown does not count');
  await assert.rejects(h.service.enqueue([{ target: 'quick', event: event(3) }]), { code: 'HKW_ERR_CLOSED' });
});

test('retry and replay through the service deliver dead letters again', async () => {
  const h = await harness({ retry_schedule: [0] });
  try {
    let fixed = false;
    h.service.registerTarget(target('a', async () => (fixed ? { ok: true } : { ok: false, retryable: true, error: 'HTTP 500' })));
    const recs = await h.service.enqueue(Array.from({ length: 5 }, (_, i) => ({ target: 'a', event: event(i) })));
    await waitFor(() => h.failed.length === 5);
    fixed = true;
    const one = await h.service.retry(recs[0]?.id as string);
    assert.equal(one.state === 'pending' || one.state === 'inflight' || one.state === 'done', true);
    await waitFor(async () => (await h.service.get(recs[0]?.id as string)).delivery.state === 'done');
    const progress: Array<[number, number]> = [];
    const result = await h.service.replay({ target: 'a', since: 0, onProgress: (d, t) => progress.push([d, t]) });
    assert.deepEqual({ ...result, startedAt: 0 }, { replayed: 4, total: 4, skipped: 0, startedAt: 0 });
    assert.ok(result.startedAt > 0 && result.startedAt <= Date.now(), 'when it began (for its progress)');
    assert.deepEqual(progress[0], [0, 4]);
    assert.deepEqual(progress[progress.length - 1], [4, 4]);
    await waitFor(async () => (await h.store.list({ state: 'done' })).length === 5);
    await assert.rejects(h.service.retry('dlv_missing'), { code: 'HKW_ERR_DELIVERY_NOT_FOUND' });
  } finally {
    await h.service.close();
  }
});

test('retry of a delivery in flight is refused with DeliveryInflightError (409) and changes nothing', async () => {
  const h = await harness();
  const release: Array<() => void> = [];
  try {
    h.service.registerTarget(target('a', () => new Promise<AttemptResult>((resolve) => release.push(() => resolve({ ok: true })))));
    const [rec] = await h.service.enqueue([{ target: 'a', event: event(1) }]);
    await waitFor(() => release.length === 1, { what: 'attempt running' });
    const before = await h.store.get(rec?.id as string);
    assert.equal(before?.delivery.state, 'inflight');
    await assert.rejects(h.service.retry(rec?.id as string), (err: Error & { code?: string; statusCode?: number }) => {
      assert.equal(err.name, 'DeliveryInflightError');
      assert.equal(err.code, 'HKW_ERR_DELIVERY_INFLIGHT');
      assert.equal(err.statusCode, 409);
      assert.match(err.message, /is in flight: a node is attempting it right now/);
      return true;
    });
    assert.deepEqual(await h.store.get(rec?.id as string), before, 'unchanged');
    release[0]?.();
    await waitFor(async () => (await h.store.get(rec?.id as string))?.delivery.state === 'done', { what: 'attempt done' });
    assert.equal((await h.service.retry(rec?.id as string)).id, rec?.id, 'retried once the attempt ended');
  } finally {
    for (const r of release) r();
    await h.service.close();
  }
});

test('the operator tools (list, get, retry) redact a granted account.token; the stored copy keeps it for the target', async () => {
  const h = await harness({ retry_schedule: [0] });
  try {
    const seen: unknown[] = [];
    h.service.registerTarget(
      target('granted', async (d) => {
        seen.push((d.event['account'] as { token?: string }).token);
        return { ok: false, retryable: false, error: 'HTTP 400' };
      }),
    );
    const granted = { id: '1001', account: { uuid: 'u1', name: 'alice', token: 'tok-SECRET-1' }, data: { n: 1 } };
    const plain = { id: '1001', account: { uuid: 'u1', name: 'alice' }, data: { n: 2 } };
    const [a, b] = await h.service.enqueue([{ target: 'granted', event: granted }, { target: 'plain', event: plain }]);
    await waitFor(async () => (await h.store.get(a?.id as string))?.delivery.state === 'failed', { what: 'attempted' });
    assert.deepEqual(seen, ['tok-SECRET-1'], 'the target got the token');
    assert.equal(((await h.store.get(a?.id as string))?.delivery.event['account'] as { token?: string }).token, 'tok-SECRET-1', 'stored');

    const shown = (await h.service.get(a?.id as string)).delivery;
    assert.deepEqual(shown.event['account'], { uuid: 'u1', name: 'alice', token: '[redacted]' });
    assert.equal(JSON.stringify(await h.service.list()).includes('tok-SECRET-1'), false);
    assert.equal(JSON.stringify(await h.service.get(a?.id as string)).includes('tok-SECRET-1'), false);
    assert.equal(JSON.stringify(await h.service.retry(a?.id as string)).includes('tok-SECRET-1'), false);
    assert.deepEqual((await h.service.get(b?.id as string)).delivery.event, plain, 'an event without a token is shown as stored');
    assert.equal(((await h.store.get(a?.id as string))?.delivery.event['account'] as { token?: string }).token, 'tok-SECRET-1', 'still stored');
  } finally {
    await h.service.close();
  }
});

test('deliveries enqueued a moment apart while a lease is in use share it (one abort signal); later ones get their own', async () => {
  // lease 32 s: sharing spans at most 1 s (and at most 1/16 of the lease).
  const h = await harness({ lease: 32 });
  try {
    const signals: AbortSignal[] = [];
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.service.registerTarget(
      target('a', async (_d, c) => {
        signals.push(c.signal);
        // The first attempt holds its lease open while the second arrives.
        if (signals.length === 1) await held;
        return { ok: true };
      }),
    );
    await h.service.enqueue([{ target: 'a', event: event(1) }]);
    await waitFor(() => signals.length === 1, { what: 'first attempt' });
    await h.service.enqueue([{ target: 'a', event: event(2) }]);
    await waitFor(() => signals.length === 2, { what: 'second attempt' });
    assert.equal(signals[0], signals[1]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await h.service.enqueue([{ target: 'a', event: event(3) }]);
    await waitFor(() => signals.length === 3, { what: 'third attempt' });
    assert.notEqual(signals[2], signals[0]);
    release();
  } finally {
    await h.service.close();
  }
});

test('enqueue takes an event as JSON text only, and refuses a delivery with neither event nor JSON', async () => {
  const h = await harness();
  try {
    const seen: string[] = [];
    h.service.registerTarget(
      target('a', async (d) => {
        seen.push(d.eventJson ?? '');
        return { ok: true };
      }),
    );
    const json = JSON.stringify(event(7));
    const [record] = await h.service.enqueue([{ target: 'a', eventJson: json }]);
    assert.deepEqual(record?.event, event(7));
    await waitFor(() => seen.length === 1, { what: 'delivered' });
    assert.equal(seen[0], json);
    await assert.rejects(h.service.enqueue([{ target: 'a' }]), /needs a non-empty "target" name and an "event"/);
  } finally {
    await h.service.close();
  }
});

test('claims do not wait for the read of disabled targets (a slow store answer to it holds nothing up)', async () => {
  const store = new MemoryStore();
  let reads = 0;
  const hang = new Promise<never>(() => undefined);
  // The first read (at start) answers; every later one never does.
  const disabledTargets = store.disabledTargets.bind(store);
  store.disabledTargets = () => (reads++ === 0 ? disabledTargets() : hang);
  const h = await harness({ poll_interval: 0.01 }, store);
  try {
    let done = 0;
    h.service.registerTarget(target('a', async () => ({ ok: (done += 1) > 0 }), 1));
    for (let round = 0; round < 5; round++) {
      await h.service.enqueue(Array.from({ length: 10 }, (_, i) => ({ target: 'a', event: event(i) })));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => done === 50, { what: 'all delivered while the read hangs' });
    assert.ok(reads >= 2, 'the read was asked again');
  } finally {
    await h.service.close();
  }
});

test('a target disabled by a 410 stays disabled on this node while the store has not recorded it yet', async () => {
  const store = new MemoryStore();
  let recorded = (): void => undefined;
  const disableTarget = store.disableTarget.bind(store);
  // The store records the disable only when the test says so; reads meanwhile do not have it.
  store.disableTarget = (name, reason, at) => new Promise<void>((resolve) => (recorded = () => void disableTarget(name, reason, at).then(resolve)));
  const h = await harness({ poll_interval: 0.01 }, store);
  try {
    let attempts = 0;
    h.service.registerTarget(target('gone', async () => ({ ok: false, disableTarget: true, httpStatus: (attempts += 1) && 410, error: 'HTTP 410' }), 1));
    await h.service.enqueue([{ target: 'gone', event: event(1) }, { target: 'gone', event: event(2) }]);
    await waitFor(() => attempts === 1, { what: 'the 410' });
    // Many refreshes come and go without the record.
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(attempts, 1, 'not attempted again');
    recorded();
    await waitFor(async () => (await store.disabledTargets()).length === 1, { what: 'recorded' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(attempts, 1);
  } finally {
    await h.service.close();
  }
});

test('with a durable store, outcomes without a claim to ride with wait a moment and go in one store call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-settle-'));
  const store = new SqliteStore({ file: join(dir, 'settle.db') });
  // Store calls that carry outcomes only (no claim).
  let settleOnly = 0;
  const settle = store.settle.bind(store);
  store.settle = async (requests) => {
    settleOnly += 1;
    return settle(requests);
  };
  const h = await harness({}, store);
  try {
    let done = 0;
    let started = 0;
    // A backlog (the window is full, so most outcomes have no claim to go with), attempts ending at staggered times.
    h.service.registerTarget(
      target('a', async () => {
        await new Promise((resolve) => setTimeout(resolve, (started += 1) % 7));
        done += 1;
        return { ok: true };
      }, 16),
    );
    await h.service.enqueue(Array.from({ length: 400 }, (_, i) => ({ target: 'a', event: event(i) })));
    await waitFor(async () => (await h.store.list({ state: 'done', limit: 1000 })).length === 400, { what: 'all recorded' });
    assert.equal(done, 400);
    assert.ok(settleOnly <= 20, `${settleOnly} store calls with outcomes alone, for 400 outcomes`);
  } finally {
    await h.service.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('clipResponse keeps 4 KiB cut on a character boundary, and keeps a real U+FFFD at the end', () => {
  // 4095 ASCII bytes, then a 3-byte character across the limit: it goes whole.
  assert.equal(clipResponse(`${'a'.repeat(4095)}€tail`), 'a'.repeat(4095));
  // A genuine U+FFFD (3 bytes) ending exactly at the limit stays.
  const withReplacement = `${'a'.repeat(4093)}\uFFFD`;
  assert.equal(clipResponse(`${withReplacement}more`), withReplacement);
  assert.equal(Buffer.byteLength(clipResponse('é'.repeat(5000)) ?? ''), 4096);
  assert.equal(clipResponse('short'), 'short');
});

test('one enqueue for several targets, interleaved: each delivery claimed at enqueue runs on its own target, and is returned in flight', async () => {
  for (const store of [new MemoryStore(), undefined]) {
    const dir = mkdtempSync(join(tmpdir(), 'hookwork-adopt-'));
    const h = await harness({}, store ?? new SqliteStore({ file: join(dir, 'q.db') }));
    let release = (): void => undefined;
    try {
      const got: string[] = [];
      const gate = new Promise<void>((resolve) => (release = resolve));
      for (const name of ['a', 'b']) {
        h.service.registerTarget(
          target(name, async (d) => {
            got.push(`${name}:${(d.event['data'] as { n: number }).n}`);
            await gate;
            return { ok: true };
          }),
        );
      }
      const records = await h.service.enqueue([
        { target: 'a', event: event(1) },
        { target: 'b', event: event(2) },
        { target: 'a', event: event(3) },
        { target: 'zz', event: event(4) }, // no such target here: written pending, for a claim elsewhere
        { target: 'a', event: event(5), dueAt: Date.now() + 60_000 }, // due later: pending
      ]);
      assert.deepEqual(
        records.map((r) => [r.target, r.state]),
        [['a', 'inflight'], ['b', 'inflight'], ['a', 'inflight'], ['zz', 'pending'], ['a', 'pending']],
      );
      await waitFor(() => got.length === 3);
      assert.deepEqual([...got].sort(), ['a:1', 'a:3', 'b:2']);
      release();
      await waitFor(async () => (await h.service.list({ state: 'done' })).length === 3);
      assert.equal((await h.service.list({ state: 'pending' })).length, 2);
    } finally {
      release();
      await h.service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('idle targets sit out the claims: with 200 targets registered, no claim asks the store about an idle one (they start asleep)', async () => {
  const store = new MemoryStore();
  const asked: number[] = [];
  const claim = store.claim.bind(store);
  store.claim = (request) => {
    asked.push(request.capacity.size);
    return claim(request);
  };
  let settled = 0;
  const settle = store.settle.bind(store);
  store.settle = (requests) => {
    settled += requests.length;
    return settle(requests);
  };
  let scans = 0;
  const dueTargets = store.dueTargets.bind(store);
  store.dueTargets = (now) => {
    scans++;
    return dueTargets(now);
  };
  // A long poll, so the poll's scan is not what the assertions see.
  const h = await harness({ poll_interval: 30, enqueue_batch: 1 }, store);
  try {
    const delivered: string[] = [];
    for (let i = 0; i < 200; i++) h.service.registerTarget(target(`t${i}`, async (d) => (delivered.push(d.target), { ok: true })));
    // Registering asks the store once which targets have work (none has): no claim asks about each.
    await waitFor(() => scans > 0, 'the store asked which targets have work');
    await h.service.enqueue([{ target: 't7', event: event(0) }]);
    await waitFor(() => delivered.length === 1, 'the first delivery');
    for (let n = 1; n <= 5; n++) {
      await h.service.enqueue([{ target: 't42', event: event(n) }]);
      await waitFor(() => delivered.length === n + 1, `delivery ${n}`);
    }
    // Each completion looks for more work (beside recording the attempt): only targets not known idle are asked about.
    await waitFor(() => settled === 6, 'the six attempts recorded');
    assert.ok(asked.every((size) => size <= 1), `no claim asked about the idle targets: ${asked.join(',')}`);
  } finally {
    await h.service.close();
  }
});

/** Counts what a dispatcher asks its store: claims (and the targets each names) and scans for targets with due work. */
function countCalls<S extends DeliveryStore & { dueTargets: NonNullable<DeliveryStore['dueTargets']> }>(store: S): { asked: number[]; scans: number; claimed: Array<{ scan: number; targets: string[] }> } {
  const counts = { asked: [] as number[], scans: 0, claimed: [] as Array<{ scan: number; targets: string[] }> };
  const claim = store.claim.bind(store);
  store.claim = async (request) => {
    counts.asked.push(request.capacity.size);
    const got = await claim(request);
    if (got.length > 0) counts.claimed.push({ scan: counts.scans, targets: got.map((d) => d.target) });
    return got;
  };
  const dueTargets = store.dueTargets.bind(store);
  store.dueTargets = (now) => {
    counts.scans++;
    return dueTargets(now);
  };
  return counts;
}

test('a delivery due for an idle target among 10,000, written by another node or due after a retry delay, is claimed after one scan; no claim asks about the idle targets', async () => {
  const store = new MemoryStore();
  const counts = countCalls(store);
  const h = await harness({ poll_interval: 0.05, retry_schedule: [0, 0.3] }, store);
  try {
    const delivered: string[] = [];
    let failOnce = true;
    for (let i = 0; i < 10_000; i++) {
      h.service.registerTarget(
        target(`t${i}`, async (d) => {
          if (d.target === 't1234' && failOnce) {
            failOnce = false;
            return { ok: false, retryable: true, error: 'not yet' };
          }
          delivered.push(d.target);
          return { ok: true };
        }),
      );
    }
    await waitFor(() => counts.scans + counts.asked.length >= 3, 'a few polls');
    // Written by another node (straight into the store: this node is not told), due now.
    const scansBefore = counts.scans;
    await store.enqueue([{ id: 'dlv_other_node', target: 't5000', eventJson: JSON.stringify(event(1)), webhookId: 'msg_other', dueAt: Date.now(), createdAt: Date.now() }]);
    await waitFor(() => delivered.includes('t5000'), 'the other node’s delivery');
    const found = counts.claimed.find((c) => c.targets.includes('t5000'));
    // Found by the first scan after the write, or the one on its way during it: at most two polls.
    assert.ok(found !== undefined && found.scan - scansBefore <= 2, `claimed after scan ${found?.scan}, the write came after scan ${scansBefore}`);
    // A retry 0.3 s later: the target sleeps meanwhile (its claims find nothing), and the retry is still claimed.
    await h.service.enqueue([{ target: 't1234', event: event(2) }]);
    await waitFor(() => delivered.includes('t1234'), 'the retried delivery');
    const attempts = (await h.service.list({ target: 't1234' }))[0]?.attempts;
    assert.equal(attempts, 2, 'delivered at its second attempt');
    assert.ok(Math.max(...counts.asked) <= 2, `no claim asked about the idle targets (largest: ${Math.max(...counts.asked)} of 10,000)`);
  } finally {
    await h.service.close();
  }
});

test('the back-pressure counts are read from the unfinished deliveries only (openByTarget), never from the depth of every finished one', async () => {
  const store = new MemoryStore();
  const calls = { open: 0, depth: 0 };
  const openByTarget = store.openByTarget.bind(store);
  const depthByTarget = store.depthByTarget.bind(store);
  Object.assign(store, {
    openByTarget: () => (calls.open++, openByTarget()),
    depthByTarget: () => (calls.depth++, depthByTarget()),
  });
  await store.enqueue([{ id: 'dlv_1', target: 'a', eventJson: JSON.stringify(event(1)), webhookId: 'msg_1', dueAt: Date.now() + 60_000, createdAt: Date.now() }]);
  // The default bound (max_pending 1,000,000) is set: the counts are read at start.
  const h = await harness({ poll_interval: 600 }, store);
  try {
    assert.equal(h.service.pendingCount(), 1, 'the pending delivery another node wrote is counted');
    assert.ok(calls.open >= 1, 'read through openByTarget');
    assert.equal(calls.depth, 0, 'depthByTarget (which counts the finished rows too) is not read for it');
  } finally {
    await h.service.close();
  }
});

test('a wake from the store (another node) reads the disabled targets before its scan: work written there after a disable is not claimed here', async () => {
  const store = new MemoryStore();
  // The store's wake (PostgreSQL's NOTIFY), fired by hand; the disabled-targets read answers late, as a slow store would.
  let wakeListener: (() => void) | undefined;
  let slowReads = false;
  const disabledTargets = store.disabledTargets.bind(store);
  Object.assign(store, {
    onWake: (listener: () => void) => ((wakeListener = listener), () => (wakeListener = undefined)),
    disabledTargets: async () => {
      const list = await disabledTargets();
      if (slowReads) await new Promise((resolve) => setTimeout(resolve, 100));
      return list;
    },
  });
  // Polls far apart: only the wake makes this node look.
  const h = await harness({ poll_interval: 600 }, store);
  try {
    const delivered: string[] = [];
    for (const name of ['off', 'on']) h.service.registerTarget(target(name, async (d) => (delivered.push(d.target), { ok: true })));
    await waitFor(() => wakeListener !== undefined, 'the service listening for wakes');
    // Another node disables "off", then writes work for both targets and wakes the others.
    slowReads = true;
    await store.disableTarget('off', 'disabled on another node', Date.now());
    const now = Date.now();
    await store.enqueue([
      { id: 'dlv_off', target: 'off', eventJson: JSON.stringify(event(1)), webhookId: 'msg_off', dueAt: now, createdAt: now },
      { id: 'dlv_on', target: 'on', eventJson: JSON.stringify(event(2)), webhookId: 'msg_on', dueAt: now, createdAt: now },
    ]);
    wakeListener?.();
    await waitFor(() => delivered.includes('on'), 'the enabled target’s delivery');
    assert.deepEqual(delivered, ['on'], 'the disabled target’s delivery waits');
    assert.equal((await h.service.list({ target: 'off' }))[0]?.state, 'pending');
  } finally {
    await h.service.close();
  }
});

test('a delivery enqueued through another handle of the same SQLite file for an idle target among 1,000 is claimed within two polls, by a claim that names only it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-scan-'));
  const file = join(dir, 'q.db');
  const ours = new SqliteStore({ file });
  const other = new SqliteStore({ file });
  const counts = countCalls(ours);
  const h = await harness({ poll_interval: 0.05 }, ours);
  try {
    await other.migrate();
    const delivered: string[] = [];
    for (let i = 0; i < 1000; i++) h.service.registerTarget(target(`t${i}`, async (d) => (delivered.push(d.target), { ok: true })));
    await waitFor(() => counts.scans + counts.asked.length >= 3, 'a few polls');
    const scansBefore = counts.scans;
    await other.enqueue([{ id: 'dlv_other_handle', target: 't999', eventJson: JSON.stringify(event(1)), webhookId: 'msg_other', dueAt: Date.now(), createdAt: Date.now() }]);
    await waitFor(() => delivered.includes('t999'), 'the delivery written through the other handle');
    const found = counts.claimed.find((c) => c.targets.includes('t999'));
    assert.ok(found !== undefined && found.scan - scansBefore <= 2, `claimed after scan ${found?.scan}, the write came after scan ${scansBefore}`);
    assert.ok(Math.max(...counts.asked) <= 1, `no claim asked about the idle targets (largest: ${Math.max(...counts.asked)} of 1,000)`);
    await waitFor(async () => (await other.get('dlv_other_handle'))?.delivery.state === 'done', 'recorded done, as the other handle sees it');
  } finally {
    await h.service.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store without dueTargets: idle targets are asked again once a poll, so work written elsewhere is still claimed', async () => {
  const store = new MemoryStore();
  (store as { dueTargets?: unknown }).dueTargets = undefined;
  const asked: number[] = [];
  const claim = store.claim.bind(store);
  store.claim = (request) => {
    asked.push(request.capacity.size);
    return claim(request);
  };
  const h = await harness({ poll_interval: 0.05 }, store);
  try {
    const delivered: string[] = [];
    for (let i = 0; i < 20; i++) h.service.registerTarget(target(`t${i}`, async (d) => (delivered.push(d.target), { ok: true })));
    await store.enqueue([{ id: 'dlv_elsewhere', target: 't13', eventJson: JSON.stringify(event(1)), webhookId: 'msg_x', dueAt: Date.now(), createdAt: Date.now() }]);
    await waitFor(() => delivered.includes('t13'), 'the delivery written elsewhere');
    assert.ok(asked.includes(20), 'a poll asked every target');
  } finally {
    await h.service.close();
  }
});

test('an attempt record holds the members its result has, in one order, whether the result is the usual webhook one or not', async () => {
  const h = await harness({ retry_schedule: [0] });
  try {
    const requestHeaders = { 'webhook-id': 'msg_x' };
    const responseHeaders = { 'content-type': 'text/plain' };
    const results: Record<string, AttemptResult> = {
      plain: { ok: true, httpStatus: 200, response: 'ok', requestHeaders, responseHeaders, requestBodyIsEvent: true },
      refused: { ok: false, retryable: false, httpStatus: 400, response: 'bad', error: 'HTTP 400', requestHeaders, responseHeaders, requestBodyIsEvent: true },
      body: { ok: true, httpStatus: 201, response: '', requestHeaders, requestBody: 'a=1', responseHeaders },
      command: { ok: true, exitCode: 0, response: 'done' },
    };
    h.service.registerTarget(target('kinds', async (d) => results[(d.event as { kind: string }).kind] as AttemptResult));
    const records = await h.service.enqueue(Object.keys(results).map((kind) => ({ target: 'kinds', event: { kind } })));
    await waitFor(async () => (await h.store.list({ target: 'kinds' })).every((r) => r.state === 'done' || r.state === 'failed'), { what: 'all attempted' });
    const attempts = await Promise.all(records.map(async (r) => (await h.service.get(r.id)).attempts[0] as AttemptRecord));
    const [plain, refused, body, command] = attempts.map((a) => {
      const { deliveryId, startedAt, durationMs, ...rest } = a;
      assert.equal(typeof deliveryId, 'string');
      assert.ok(startedAt > 0 && durationMs >= 0);
      return Object.keys(a).join(',') + ' ' + JSON.stringify(rest);
    });
    assert.equal(plain, `deliveryId,attempt,startedAt,durationMs,ok,httpStatus,response,requestHeaders,requestBodyIsEvent,responseHeaders {"attempt":1,"ok":true,"httpStatus":200,"response":"ok","requestHeaders":{"webhook-id":"msg_x"},"requestBodyIsEvent":true,"responseHeaders":{"content-type":"text/plain"}}`);
    assert.equal(refused, `deliveryId,attempt,startedAt,durationMs,ok,retryable,httpStatus,response,error,requestHeaders,requestBodyIsEvent,responseHeaders {"attempt":1,"ok":false,"retryable":false,"httpStatus":400,"response":"bad","error":"HTTP 400","requestHeaders":{"webhook-id":"msg_x"},"requestBodyIsEvent":true,"responseHeaders":{"content-type":"text/plain"}}`);
    assert.equal(body, `deliveryId,attempt,startedAt,durationMs,ok,httpStatus,response,requestHeaders,requestBody,responseHeaders {"attempt":1,"ok":true,"httpStatus":201,"response":"","requestHeaders":{"webhook-id":"msg_x"},"requestBody":"a=1","responseHeaders":{"content-type":"text/plain"}}`);
    assert.equal(command, `deliveryId,attempt,startedAt,durationMs,ok,exitCode,response {"attempt":1,"ok":true,"exitCode":0,"response":"done"}`);
  } finally {
    await h.service.close();
  }
});

test('enqueue with { records: false } resolves to no records, and every delivery is still kept and delivered (those run at once and those that wait)', async () => {
  const h = await harness();
  try {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: number[] = [];
    // One at a time: the first is claimed at enqueue, the others wait as pending rows.
    h.service.registerTarget(
      target(
        'unread',
        async (d) => {
          await gate;
          seen.push((d.event['data'] as { n: number }).n);
          return { ok: true, httpStatus: 200, response: 'ok' };
        },
        1,
      ),
    );
    const got = await h.service.enqueue([1, 2, 3].map((n) => ({ target: 'unread', event: event(n) })), { records: false });
    assert.deepEqual(got, []);
    assert.equal((await h.store.list({ target: 'unread' })).length, 3);
    release();
    await waitFor(async () => (await h.store.list({ target: 'unread', state: 'done' })).length === 3, { what: 'all three delivered' });
    assert.deepEqual(seen.sort(), [1, 2, 3]);
  } finally {
    await h.service.close();
  }
});
