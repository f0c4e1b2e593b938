// The benchmark kit's verdicts (bench/lib.ts): a target is judged at the
// median of the passes, the passes alternate who goes first after a
// discarded warm-up, and --quick makes one pass.

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Pool } from 'undici';
import { advantage, alternate, benchPasses, benchRounds, countingReceiver, formatResults, targetStatus, type BenchResult } from '../bench/lib.js';

const saved = { quick: process.env['HOOKWORK_BENCH_QUICK'], passes: process.env['BENCH_PASSES'] };
afterEach(() => {
  for (const [key, value] of [['HOOKWORK_BENCH_QUICK', saved.quick], ['BENCH_PASSES', saved.passes]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const result = (ratios: number[], target = 'at least 0.9x'): BenchResult => ({
  name: 'x',
  unit: 'ops/s',
  ours: 1,
  peer: 1,
  ratios,
  peerName: 'peer',
  higherIsBetter: true,
  target,
});

test('bench: a target is met or missed at the median pass, not the best or the worst one', () => {
  assert.equal(advantage(result([0.5, 0.95, 0.92, 1.4, 0.6])), 0.92);
  assert.equal(targetStatus(result([0.5, 0.95, 0.92, 1.4, 0.6])), 'met', 'two bad passes do not miss it');
  assert.equal(targetStatus(result([0.5, 0.85, 0.8, 1.4, 0.6])), 'missed', 'one lucky pass does not meet it');
  const table = formatResults([result([0.5, 0.95, 0.92, 1.4, 0.6])]);
  assert.match(table, /0\.92x/);
  assert.match(table, /0\.50–1\.40 \(5\)/);
  assert.match(table, /at least 0\.9x: MET/);
});

test('bench: passes alternate who goes first after one discarded warm-up pass, one ratio each', async () => {
  const order: string[] = [];
  let n = 0;
  const figures = await alternate(
    4,
    async () => {
      order.push('ours');
      return 10 + n++;
    },
    async () => {
      order.push('peer');
      return 10;
    },
  );
  assert.deepEqual(order, ['ours', 'peer', 'peer', 'ours', 'ours', 'peer', 'peer', 'ours', 'ours', 'peer']);
  assert.equal(figures.ratios.length, 4, 'the warm-up pass is not counted');
  assert.deepEqual(figures.ratios, [1.1, 1.2, 1.3, 1.4]);
  assert.equal(figures.peer, 10);
});

test('bench: 5 passes at least by default, BENCH_PASSES raises it, --quick makes one', () => {
  delete process.env['HOOKWORK_BENCH_QUICK'];
  delete process.env['BENCH_PASSES'];
  assert.equal(benchPasses(), 5);
  process.env['BENCH_PASSES'] = '3';
  assert.equal(benchPasses(), 5, 'never fewer than 5');
  process.env['BENCH_PASSES'] = '9';
  assert.equal(benchPasses(), 9);
  process.env['HOOKWORK_BENCH_QUICK'] = '1';
  assert.equal(benchPasses(), 1);
});

test('bench: a noisy row takes its own number of passes (the durable delivery rows nine), BENCH_PASSES raises it further, --quick makes one', () => {
  delete process.env['HOOKWORK_BENCH_QUICK'];
  delete process.env['BENCH_PASSES'];
  assert.equal(benchRounds(9), 9);
  process.env['BENCH_PASSES'] = '13';
  assert.equal(benchRounds(9), 13);
  process.env['HOOKWORK_BENCH_QUICK'] = '1';
  assert.equal(benchRounds(9), 1);
});

test('bench: the counting receiver resolves reach() as the goal-th request arrives, not before; a goal already reached resolves at once', async () => {
  const rx = await countingReceiver();
  const pool = new Pool(rx.url);
  try {
    let reached = false;
    const waiting = rx.reach(3).then(() => (reached = true));
    for (let i = 1; i <= 3; i++) {
      const res = await pool.request({ path: '/hook', method: 'POST', body: 'x' });
      await res.body.dump();
      // The reply is written before the waiters are told, so after each reply the flag is settled.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(reached, i === 3, `after request ${i}`);
    }
    await waiting;
    assert.equal(rx.count(), 3);
    await rx.reach(2);
  } finally {
    await pool.close();
    await rx.close();
  }
});
