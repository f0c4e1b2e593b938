// delivery.keep_done_body through the DeliveryService on a real SQLite file:
// what a done delivery keeps, and what retry and replay do without a body.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deliveryConfigSchema } from '../../src/delivery/config-schema.js';
import { DeliveryService } from '../../src/delivery/service.js';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import { silentLogger } from '../../src/logger.js';
import { waitFor } from '../helpers/wait-for.js';

async function withService(keep: 'full' | 'compressed' | 'none', fn: (service: DeliveryService) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-keep-'));
  const config = deliveryConfigSchema.parse({ keep_done_body: keep, poll_interval: 0.05 });
  const service = new DeliveryService({ store: new SqliteStore({ file: join(dir, 'd.db') }), config, nodeId: 'n', logger: silentLogger() });
  try {
    await service.start();
    for (const name of ['a', 'b']) service.registerTarget({ name, kind: 'webhook', attempt: async () => ({ ok: true, httpStatus: 200, response: 'ok' }) });
    await fn(service);
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const event = { id: 'upload', data: { path: '/in/a.csv' } };

async function sendAndWait(service: DeliveryService): Promise<string[]> {
  const records = await service.enqueue(['a', 'b'].map((target) => ({ target, event })));
  await waitFor(async () => (await service.list({ state: 'done' })).length === 2);
  return records.map((r) => r.id);
}

test('keep_done_body none: show says the body was not kept, retry is refused with HKW_ERR_DELIVERY_BODY_NOT_KEPT, replay skips and reports it', () =>
  withService('none', async (service) => {
    const [a] = await sendAndWait(service);
    const detail = await service.get(a as string);
    assert.equal(detail.delivery.eventDropped, true);
    assert.deepEqual(detail.delivery.event, {});
    assert.equal(detail.attempts[0]?.httpStatus, 200);
    await assert.rejects(service.retry(a as string), { code: 'HKW_ERR_DELIVERY_BODY_NOT_KEPT', message: /was not kept \("delivery.keep_done_body: none"\)/ });
    assert.equal((await service.get(a as string)).delivery.state, 'done');
    const { startedAt: _none, ...skipped } = await service.replay({ target: 'b', since: 0, states: ['failed', 'done'] });
    assert.deepEqual(skipped, { replayed: 0, total: 0, skipped: 1 });
  }));

test('keep_done_body compressed: a done delivery shows its event, and retry sends it again', () =>
  withService('compressed', async (service) => {
    const [a] = await sendAndWait(service);
    assert.deepEqual((await service.get(a as string)).delivery.event, event);
    await service.retry(a as string);
    await waitFor(async () => (await service.get(a as string)).attempts.length === 2);
    const { startedAt: _compressed, ...replayed } = await service.replay({ target: 'b', since: 0, states: ['done'] });
    assert.deepEqual(replayed, { replayed: 1, total: 1, skipped: 0 });
  }));
