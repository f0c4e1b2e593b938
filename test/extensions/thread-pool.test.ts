// The extension thread pool (src/extensions/pool.ts) on its own: tasks are
// pipelined to its workers, a task taken back never runs, a running task
// that is aborted takes its worker with it and the tasks behind it run once
// on the new one, an idle worker takes over what waits behind a held one,
// and a result that cannot be copied fails its event without killing the
// worker.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { ExtensionTask } from '../../src/extensions/contract.js';
import { ExtensionPool } from '../../src/extensions/pool.js';
import { TaskSignal } from '../../src/extensions/task-signal.js';
import { waitFor } from '../helpers/wait-for.js';
import { FIXTURES } from './helpers.js';

const MODULE = pathToFileURL(join(FIXTURES, 'pool-tasks.ts')).href;
let dir: string;
let sequence = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookwork-thread-pool-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function task(data: Record<string, unknown>): ExtensionTask {
  const n = ++sequence;
  return {
    module: MODULE,
    exportName: 'PoolTasks',
    configuration: '',
    event: {
      id: '2000',
      uuid: `uuid-${n}`,
      name: 'work',
      groups: [],
      message: '',
      account: { uuid: 'a', name: 'a', peer: { address: '127.0.0.1', port: 0, protocol: 'tcp' } } as unknown as ExtensionTask['event']['account'],
      component: { uuid: 'c', name: 'c', type: 'test' } as ExtensionTask['event']['component'],
      server: {} as ExtensionTask['event']['server'],
      timestamp: {} as ExtensionTask['event']['timestamp'],
      data: { n, ...data },
    },
  };
}

const ran = (log: string): number[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number) : []);
const nOf = (t: ExtensionTask): number => t.event.data['n'] as number;

describe('extension thread pool', () => {
  test('pipelined tasks wait in their worker behind the running one: stats count them as queued; all run once, in order', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 4 });
    try {
      const log = join(dir, 'order.log');
      const release = join(dir, 'order.release');
      const tasks = [task({ mode: 'hold', release, log }), ...Array.from({ length: 5 }, () => task({ log }))];
      const runs = tasks.map((t) => pool.run(t));
      // One running, three waiting in the worker, two in the pool's queue.
      await waitFor(() => ran(log).length === 1, 'the first task to start');
      assert.deepEqual(pool.stats, { size: 1, threads: 1, queued: 5, completed: 0 });
      writeFileSync(release, '');
      assert.deepEqual(await Promise.all(runs), tasks.map((t) => `done ${nOf(t)}`));
      assert.deepEqual(ran(log), tasks.map(nOf));
      assert.equal(pool.stats.queued, 0);
      assert.equal(pool.stats.completed, 6);
    } finally {
      await pool.close();
    }
  });

  test('a task aborted while it waits in a worker is taken back: it never runs', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 4 });
    try {
      const log = join(dir, 'abort.log');
      const release = join(dir, 'abort.release');
      const held = task({ mode: 'hold', release, log });
      const aborted = task({ log });
      const last = task({ log });
      const signal = new TaskSignal();
      const runs = [pool.run(held), pool.run(aborted, signal), pool.run(last)];
      await waitFor(() => ran(log).length === 1, 'the held task to start');
      signal.abort('timeout');
      await assert.rejects(runs[1] as Promise<unknown>, { name: 'AbortError' });
      writeFileSync(release, '');
      assert.equal(await runs[2], `done ${nOf(last)}`);
      assert.deepEqual(ran(log), [nOf(held), nOf(last)]);
    } finally {
      await pool.close();
    }
  });

  test('aborting a running task terminates its worker; the tasks behind it run once each on the new worker', async () => {
    let replaced = 0;
    const pool = new ExtensionPool({ size: 1, pipeline: 4, onWorkerReplaced: () => replaced++ });
    try {
      const log = join(dir, 'kill.log');
      const looping = task({ mode: 'loop', log });
      const behind = [task({ log }), task({ log })];
      const signal = new TaskSignal();
      const stuck = pool.run(looping, signal);
      const runs = behind.map((t) => pool.run(t));
      await waitFor(() => ran(log).length === 1, 'the loop to start');
      signal.abort('timeout');
      await assert.rejects(stuck, { name: 'AbortError' });
      assert.deepEqual(await Promise.all(runs), behind.map((t) => `done ${nOf(t)}`));
      assert.deepEqual(ran(log), [looping, ...behind].map(nOf));
      assert.equal(replaced, 1);
      assert.equal(pool.stats.threads, 1);
    } finally {
      await pool.close();
    }
  });

  test('an idle worker takes over the tasks waiting behind a held one', async () => {
    const pool = new ExtensionPool({ size: 2, pipeline: 4 });
    try {
      const log = join(dir, 'steal.log');
      const release = join(dir, 'steal.release');
      const held = task({ mode: 'hold', release, log });
      const rest = Array.from({ length: 5 }, () => task({ log }));
      const heldRun = pool.run(held);
      const runs = rest.map((t) => pool.run(t));
      // Some of them were posted behind the held task; the other worker serves them all while it is held
      // (the held one lets go by itself after 30 s: without the takeover, it would finish first).
      const first = await Promise.race([Promise.all(runs).then(() => 'the rest'), heldRun.then(() => 'the held one')]);
      assert.equal(first, 'the rest');
      assert.deepEqual(await Promise.all(runs), rest.map((t) => `done ${nOf(t)}`));
      writeFileSync(release, '');
      assert.equal(await heldRun, `done ${nOf(held)}`);
      assert.deepEqual(ran(log).sort((a, b) => a - b), [held, ...rest].map(nOf));
    } finally {
      await pool.close();
    }
  });

  test('a worker is given its next task before the answer it just gave is handled: it runs while the main thread handles it', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 1 });
    try {
      const log = join(dir, 'refill.log');
      const first = task({ log });
      const second = task({ log });
      let seenWhileHandling = false;
      const handled = new Promise<void>((resolve) => {
        const listener = {
          handled: (token: string) => {
            if (token === 'first') {
              // The second task was posted before this ran: the worker starts it while this handler still runs.
              const until = Date.now() + 10_000;
              while (!ran(log).includes(nOf(second)) && Date.now() < until);
              seenWhileHandling = ran(log).includes(nOf(second));
            } else resolve();
          },
          failed: () => resolve(),
        };
        pool.runTo(first, undefined, undefined, listener, 'first');
        pool.runTo(second, undefined, undefined, listener, 'second');
      });
      await handled;
      assert.equal(seenWhileHandling, true);
    } finally {
      await pool.close();
    }
  });

  test('a worker held by a slow handle() while the queue is busy has the events waiting behind it taken back for the others; none runs twice', async () => {
    const pool = new ExtensionPool({ size: 2, pipeline: 4 });
    try {
      const log = join(dir, 'held.log');
      const release = join(dir, 'held.release');
      // The first pump gives the held event and three behind it to one worker, four sleepers to the other; six sleepers wait in the queue.
      const held = task({ mode: 'hold', release, log });
      const behind = [task({ log }), task({ log }), task({ log })];
      const sleepers = Array.from({ length: 10 }, () => task({ mode: 'sleep', ms: 10, log }));
      const runs = [pool.run(held), ...behind.map((t) => pool.run(t)), ...sleepers.map((t) => pool.run(t))];
      // The other worker's sleepers take 10 ms or more each: the events behind the held one are taken back well before the queue drains.
      await waitFor(() => behind.every((t) => ran(log).includes(nOf(t))), { what: 'the events behind the held one' });
      assert.ok(!ran(log).includes(nOf(sleepers.at(-1) as ExtensionTask)), `they ran before the last queued event: ${ran(log).join(' ')}`);
      writeFileSync(release, '');
      await Promise.all(runs);
      const counts = ran(log);
      for (const t of [held, ...behind, ...sleepers]) assert.equal(counts.filter((n) => n === nOf(t)).length, 1, `event ${nOf(t)} ran once`);
    } finally {
      await pool.close();
    }
  });

  test('a result that cannot be copied out fails its event with a message saying so; the worker stays', async () => {
    let replaced = 0;
    const pool = new ExtensionPool({ size: 1, pipeline: 2, onWorkerReplaced: () => replaced++ });
    try {
      await assert.rejects(pool.run(task({ mode: 'uncloneable' })), /could not be copied out of the worker/);
      const next = task({});
      assert.equal(await pool.run(next), `done ${nOf(next)}`);
      assert.equal(replaced, 0);
    } finally {
      await pool.close();
    }
  });

  test('a task that cannot be copied into a worker fails alone; the tasks posted with it run', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 4 });
    try {
      const good = [task({}), task({})];
      const runs = [pool.run(good[0] as ExtensionTask), pool.run(task({ fn: () => 1 })), pool.run(good[1] as ExtensionTask)];
      await assert.rejects(runs[1] as Promise<unknown>, { name: 'DataCloneError' });
      assert.deepEqual(await Promise.all([runs[0], runs[2]]), good.map((t) => `done ${nOf(t)}`));
    } finally {
      await pool.close();
    }
  });

  test('past max_queue (the workers\' free places counted) a run is refused with HKW_ERR_EXTENSION_QUEUE_FULL', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 2, maxQueue: 1 });
    try {
      const release = join(dir, 'full.release');
      const accepted = [pool.run(task({ mode: 'hold', release })), pool.run(task({})), pool.run(task({}))];
      await assert.rejects(pool.run(task({})), { code: 'HKW_ERR_EXTENSION_QUEUE_FULL' });
      writeFileSync(release, '');
      assert.equal((await Promise.all(accepted)).length, 3);
    } finally {
      await pool.close();
    }
  });

  test('a held worker\'s free places do not count for max_queue: nothing would be posted to it', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 4, maxQueue: 1 });
    try {
      const release = join(dir, 'held-full.release');
      const held = pool.run(task({ mode: 'hold', release }));
      // Unanswered for longer than a worker may be before it is held (20 ms).
      await new Promise((resolve) => setTimeout(resolve, 60));
      const queued = pool.run(task({}));
      await assert.rejects(pool.run(task({})), { code: 'HKW_ERR_EXTENSION_QUEUE_FULL' });
      writeFileSync(release, '');
      await Promise.all([held, queued]);
    } finally {
      await pool.close();
    }
  });

  test('a worker that dies before it loads fails the waiting events and is not restarted in a loop; the next run starts one again', async () => {
    // A heap too small to boot a worker: it dies (out of memory) before it says it is ready.
    let replaced = 0;
    const pool = new ExtensionPool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 2, maxYoungGenerationSizeMb: 1 }, onWorkerReplaced: () => replaced++ });
    try {
      await assert.rejects(pool.run(task({})), { code: 'HKW_ERR_EXTENSION_WORKER_CRASH' });
      assert.equal(pool.stats.threads, 0);
      await assert.rejects(pool.run(task({})), { code: 'HKW_ERR_EXTENSION_WORKER_CRASH' });
      assert.equal(pool.stats.threads, 0);
      assert.equal(replaced, 0);
    } finally {
      await pool.close();
    }
  });

  test('runTo hands each outcome to the listener with its token: a result as it is read, a failure (its error, an abort, a refusal) on a later microtask, never inside runTo', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 4 });
    const got: string[] = [];
    const listener = {
      handled: (token: string, result: unknown) => got.push(`${token}: ${String(result)}`),
      failed: (token: string, err: unknown) => got.push(`${token} failed: ${(err as Error).message}`),
    };
    const release = join(dir, 'run-to.release');
    const first = task({ mode: 'hold', release });
    const last = task({});
    try {
      const signal = new TaskSignal();
      pool.runTo(first, undefined, undefined, listener, 'first');
      pool.runTo(task({ mode: 'uncloneable' }), undefined, undefined, listener, 'second');
      pool.runTo(task({}), signal, undefined, listener, 'aborted');
      pool.runTo(last, undefined, undefined, listener, 'last');
      // Aborted while it waits: its failure comes after this call has returned, as a promise's rejection would.
      signal.abort('timeout');
      assert.deepEqual(got, []);
      await Promise.resolve();
      assert.deepEqual(got, ['aborted failed: The task was aborted (timeout).']);
      writeFileSync(release, '');
      await waitFor(() => got.length === 4, { what: 'every outcome' });
      // A failure read beside a result reaches the listener a microtask after it: the order across tasks is not kept.
      const rest = got.slice(1).sort();
      assert.equal(rest[0], `first: done ${nOf(first)}`);
      assert.equal(rest[1], `last: done ${nOf(last)}`);
      assert.match(rest[2] ?? '', /^second failed: .*could not be copied out of the worker/);
    } finally {
      await pool.close();
    }
    // Refused at once (the pool is closed), yet never inside runTo.
    pool.runTo(task({}), undefined, undefined, listener, 'refused');
    assert.equal(got.length, 4);
    await Promise.resolve();
    assert.match(got[4] ?? '', /^refused failed: .*closed/);
  });

  test('closing rejects what is queued and running', async () => {
    const pool = new ExtensionPool({ size: 1, pipeline: 2 });
    const release = join(dir, 'close.release');
    const runs = [pool.run(task({ mode: 'hold', release })), pool.run(task({})), pool.run(task({}))];
    const outcomes = Promise.allSettled(runs);
    await pool.close();
    for (const outcome of await outcomes) assert.match(String(outcome.status === 'rejected' ? (outcome.reason as Error).message : 'fulfilled'), /closed before the event ran/);
    await assert.rejects(pool.run(task({})), /closed/);
  });
});
