import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliveryConfigSchema } from '../../src/delivery/config-schema.js';
import { RetryPolicy } from '../../src/delivery/retry-policy.js';

test('the default schedule is immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 8 attempts', () => {
  const config = deliveryConfigSchema.parse({});
  const policy = new RetryPolicy({ schedule: config.retry_schedule, jitter: 0, retryAfterMax: config.retry_after_max });
  assert.equal(policy.maxAttempts, 8);
  assert.equal(policy.firstDelayMs, 0);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((n) => policy.nextDelayMs(n)),
    [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
  );
  assert.equal(policy.nextDelayMs(8), undefined, 'exhausted after the last entry');
});

test('jitter stays within ±20 %', () => {
  for (const r of [0, 0.25, 0.5, 0.999]) {
    const policy = new RetryPolicy({ schedule: [0, 100], jitter: 0.2, retryAfterMax: 10, random: () => r });
    const d = policy.nextDelayMs(1) as number;
    assert.ok(d >= 80_000 && d <= 120_000, `${d}`);
  }
  const low = new RetryPolicy({ schedule: [0, 100], jitter: 0.2, retryAfterMax: 10, random: () => 0 });
  assert.equal(low.nextDelayMs(1), 80_000);
});

test('Retry-After is honoured within bounds: never sooner than asked, never longer than the cap', () => {
  const policy = new RetryPolicy({ schedule: [0, 5, 300], jitter: 0, retryAfterMax: 60 });
  assert.equal(policy.nextDelayMs(1, 30_000), 30_000, 'longer than the schedule: wait as asked');
  assert.equal(policy.nextDelayMs(1, 1_000), 5_000, 'shorter than the schedule: the schedule wins');
  assert.equal(policy.nextDelayMs(1, 86_400_000), 60_000, 'capped by retry_after_max');
  assert.equal(policy.nextDelayMs(3, 1_000), undefined);
});

test('config: an empty retry schedule or a bad store URL is refused', async () => {
  assert.equal(deliveryConfigSchema.safeParse({ retry_schedule: [] }).success, false);
  const { storeConfigSchema } = await import('../../src/delivery/config-schema.js');
  assert.equal(storeConfigSchema.parse({}).url, 'sqlite:hookwork.db');
  assert.equal(storeConfigSchema.safeParse({ url: 'mysql://x' }).success, false);
  assert.equal(storeConfigSchema.safeParse({ url: 'postgres://u:p@127.0.0.1:5432/db' }).success, true);
  assert.equal(deliveryConfigSchema.safeParse({ retention: { done: 1, typo: 2 } }).success, false);
});
