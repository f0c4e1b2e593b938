// Silence no more: store lost / back, disk full / cleared and circuit opened /
// closed are each logged once per transition (with the counts since), not per
// failure; the service's storeHealth() says what /v1/health reports.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliveryConfigSchema, type DeliveryConfigInput } from '../../src/delivery/config-schema.js';
import { MemoryStore } from '../../src/delivery/memory-store.js';
import { DeliveryService } from '../../src/delivery/service.js';
import type { ClaimRequest, StoredDeliveryInput } from '../../src/delivery/store.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { captureLogger, type CaptureLogger } from '../helpers/capture-logger.js';
import { waitFor } from '../helpers/wait-for.js';

/** A memory store that refuses every call with `fault` while it is set. */
class FlakyStore extends MemoryStore {
  fault: Error | undefined;
  refused = 0;
  #check(): void {
    if (this.fault !== undefined) {
      this.refused += 1;
      throw this.fault;
    }
  }
  override enqueueNow(rows: readonly StoredDeliveryInput[]): void {
    this.#check();
    super.enqueueNow(rows);
  }
  override async claim(request: ClaimRequest): Promise<DeliveryRecord[]> {
    this.#check();
    return super.claim(request);
  }
  /** An idle node's poll: which targets have due work. */
  override async dueTargets(now: number): Promise<string[]> {
    this.#check();
    return super.dueTargets(now);
  }
}

function service(store: MemoryStore, logger: CaptureLogger, config: DeliveryConfigInput = {}): DeliveryService {
  return new DeliveryService({
    store,
    config: deliveryConfigSchema.parse({ retry_schedule: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], jitter: 0, poll_interval: 0.02, ...config }),
    nodeId: 'n1',
    logger,
  });
}

const lines = (logger: CaptureLogger, pattern: RegExp) => logger.lines.filter((l) => pattern.test(l.msg ?? ''));

for (const [name, fault, kind, lost, back] of [
  ['store lost / back', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'unavailable', /store was lost/, /store is back/],
  ['disk full / cleared', Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), 'disk-full', /out of disk space/, /disk space again/],
] as const) {
  test(`delivery service: ${name} is logged once each at warn with the refusals counted, and storeHealth() reports it meanwhile`, async () => {
    const logger = captureLogger();
    const store = new FlakyStore();
    const svc = service(store, logger);
    await svc.start();
    svc.registerTarget({ name: 't', kind: 'webhook', attempt: async () => ({ ok: true }) });
    try {
      assert.deepEqual(svc.storeHealth(), { ok: true });
      store.fault = fault;
      for (let i = 0; i < 5; i++) await assert.rejects(svc.enqueue([{ target: 't', event: { i } }]), fault);
      // The dispatcher's polls fail too; still no line per failure.
      await waitFor(() => store.refused >= 10, { what: 'polls refused' });
      const report = svc.storeHealth();
      assert.equal(report.ok, false);
      assert.equal(report.fault, kind);
      assert.ok((report.failures ?? 0) >= 10);
      assert.equal(lines(logger, lost).length, 1, 'one line when it began');
      assert.equal(lines(logger, /failed/).length, 0, 'no line per failed claim');
      store.fault = undefined;
      await svc.enqueue([{ target: 't', event: { ok: true } }]);
      assert.deepEqual(svc.storeHealth(), { ok: true });
      const ended = lines(logger, back);
      assert.equal(ended.length, 1, 'one line when it ended');
      assert.equal(ended[0]?.level, 'warn');
      assert.ok(Number(ended[0]?.obj['failures']) >= 10, 'with the refusals since');
      assert.equal(lines(logger, lost).length, 1);
    } finally {
      store.fault = undefined;
      await svc.close();
    }
  });
}

test('delivery service: a target whose circuit opens and closes is logged once each (with the failures), not once per failure', async () => {
  const logger = captureLogger();
  const svc = service(new MemoryStore(), logger, { circuit_breaker: { failures: 3, cooldown: 0.05 } });
  await svc.start();
  let calls = 0;
  svc.registerTarget({
    name: 'down',
    kind: 'webhook',
    // Fails 8 times (opens at 3, failed probes after that), then answers.
    attempt: async () => (++calls > 8 ? { ok: true, httpStatus: 200 } : { ok: false, retryable: true, error: 'connect ECONNREFUSED' }),
  });
  try {
    const [rec] = await svc.enqueue([{ target: 'down', event: { id: 1 } }]);
    await waitFor(async () => (await svc.store.get(rec?.id as string))?.delivery.state === 'done', { what: 'delivered at last' });
    const opened = lines(logger, /Circuit opened/);
    const closed = lines(logger, /Circuit closed/);
    assert.equal(opened.length, 1, 'one line when it opened');
    assert.equal(closed.length, 1, 'one line when it closed');
    assert.equal(opened[0]?.level, 'warn');
    assert.equal(opened[0]?.obj['target'], 'down');
    assert.equal(opened[0]?.obj['failures'], 3);
    assert.equal(closed[0]?.obj['failures'], 8, 'the failures until it closed');
  } finally {
    await svc.close();
  }
});

test('delivery service: a scan for due work still on its way at close, refused by the closing store, is not the store being lost', async () => {
  const logger = captureLogger();
  let refuse: ((err: Error) => void) | undefined;
  class SlowScanStore extends MemoryStore {
    override dueTargets(): Promise<string[]> {
      return new Promise((_, reject) => (refuse = reject));
    }
  }
  const svc = service(new SlowScanStore(), logger);
  await svc.start();
  svc.registerTarget({ name: 't', kind: 'webhook', attempt: async () => ({ ok: true }) });
  await waitFor(() => refuse !== undefined, 'a scan on its way');
  await svc.close();
  refuse?.(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(svc.storeHealth(), { ok: true });
  assert.equal(lines(logger, /store was lost/).length, 0);
});
