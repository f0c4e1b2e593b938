// A pipelined process pool whose running event hits its limit must not run
// again the events its process had already answered or started: the answers
// still in the pipe are read and matched to their frames before the process
// is judged stuck, and a frame whose deadline passed while it waited behind
// a slow handle is skipped by the runtime. Each event's handle() runs at most
// once, counted through a file the handler appends to. Needs python3.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type { ExtensionTask } from '../../src/extensions/contract.js';
import { ProcessPool } from '../../src/extensions/process-pool.js';
import { PythonExtensions } from '../../src/extensions/python.js';
import { TaskSignal } from '../../src/extensions/task-signal.js';
import { silentLogger } from '../../src/logger.js';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import { waitFor } from '../helpers/wait-for.js';
import { startRuntime } from './helpers.js';

const FOLDER = fileURLToPath(new URL('./fixtures/pipeline/', import.meta.url));
const python = new PythonExtensions({ folder: FOLDER, poolSize: 1, logger: silentLogger() });
const dir = mkdtempSync(join(tmpdir(), 'hookwork-pool-kill-'));
const pools: ProcessPool[] = [];

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await python.close();
  rmSync(dir, { recursive: true, force: true });
});

function pool(): ProcessPool {
  const made = new ProcessPool({ size: 1, pipeline: 4, command: python.command('worker'), name: 'python', logger: silentLogger() });
  pools.push(made);
  return made;
}

function task(file: string, tag: string, sleep = 0, exit = 0): ExtensionTask {
  return {
    module: 'counted_handler',
    exportName: 'CountedHandler',
    configuration: file,
    event: { id: '100', account: { name: 'a' }, data: { tag, sleep, exit } } as unknown as ExtensionTask['event'],
  };
}

/** The process has ended (a zombie: not yet reaped, as the event loop is held). Linux. */
function ended(pidFile: string): boolean {
  try {
    const pid = readFileSync(pidFile, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function runs(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

/** Holds the event loop (nothing is read from the process meanwhile) until `done` says so. */
function blockUntil(done: () => boolean): void {
  for (;;) {
    if (done()) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

describe('process pool: killing a running event with answered frames behind it', () => {
  test('the frames the killed process had already answered are not run again, and their answers are delivered', async () => {
    const file = join(dir, 'answered.txt');
    const pipelined = pool();
    assert.equal(await pipelined.run(task(file, 'warm')), 'ran warm');
    const signal = new TaskSignal();
    const slow = pipelined.run(task(file, 'slow', 0.3), signal);
    const behind = [pipelined.run(task(file, 'b')), pipelined.run(task(file, 'c')), pipelined.run(task(file, 'd'))];
    // Let the frames leave, then hold the loop while the process serves all
    // four: their answers wait unread in the pipe when the limit fires.
    await new Promise((resolve) => setImmediate(resolve));
    blockUntil(() => runs(file).includes('d'));
    // The answer to "d" is written right after its line: give it the time to land.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    signal.abort('timeout');
    await assert.rejects(slow, { name: 'AbortError' });
    assert.deepEqual(await Promise.all(behind), ['ran b', 'ran c', 'ran d']);
    assert.equal(await pipelined.run(task(file, 'after')), 'ran after');
    assert.deepEqual(runs(file), ['warm', 'slow', 'b', 'c', 'd', 'after']);
  });

  test('the limit of an event its process had already answered (unread) does not kill the process running the next one', async () => {
    const file = join(dir, 'moved-on.txt');
    const pipelined = pool();
    assert.equal(await pipelined.run(task(file, 'warm')), 'ran warm');
    const signal = new TaskSignal();
    const slow = pipelined.run(task(file, 'slow', 0.2), signal);
    const b = pipelined.run(task(file, 'b'));
    const c = pipelined.run(task(file, 'c', 0.5));
    await new Promise((resolve) => setImmediate(resolve));
    // "slow" and "b" are answered (unread), "c" is running when the limit of "slow" fires.
    blockUntil(() => runs(file).includes('c'));
    signal.abort('timeout');
    await assert.rejects(slow, { name: 'AbortError' });
    assert.equal(await b, 'ran b');
    assert.equal(await c, 'ran c');
    assert.deepEqual(runs(file), ['warm', 'slow', 'b', 'c']);
    assert.equal(pipelined.stats.threads, 1);
  });

  test('a process that ends by itself on an event just aborted for its limit fails no other event: the next one runs in the replacement', async () => {
    const file = join(dir, 'ended-on-aborted.txt');
    const pipelined = pool();
    assert.equal(await pipelined.run(task(file, 'warm')), 'ran warm');
    const signal = new TaskSignal();
    const dying = pipelined.run(task(file, 'dying', 0.1, 9), signal);
    const next = pipelined.run(task(file, 'next'));
    await new Promise((resolve) => setImmediate(resolve));
    // Its exit is waiting to be seen when the limit fires: it is seen before the kill would come.
    blockUntil(() => ended(`${file}.pid`));
    signal.abort('timeout');
    await assert.rejects(dying, { name: 'AbortError' });
    assert.equal(await next, 'ran next');
    assert.deepEqual(runs(file), ['warm', 'dying', 'next']);
  });

  test('a frame whose deadline passed while it waited behind a slow handle is not run; the event fails as expired', async () => {
    const file = join(dir, 'expired.txt');
    const pipelined = pool();
    assert.equal(await pipelined.run(task(file, 'warm')), 'ran warm');
    const sent = Date.now();
    const slow = pipelined.run(task(file, 'slow', 0.3));
    const late = new TaskSignal();
    // Its limit passes while "slow" (started after `sent`, 300 ms long) runs.
    late.expiresAt = sent + 50;
    const waiting = pipelined.run(task(file, 'late'), late);
    const inTime = new TaskSignal();
    inTime.expiresAt = Date.now() + 600_000;
    const fine = pipelined.run(task(file, 'fine'), inTime);
    assert.equal(await slow, 'ran slow');
    await assert.rejects(waiting, { name: 'AbortError', message: /deadline had passed/ });
    assert.equal(await fine, 'ran fine');
    assert.deepEqual(runs(file), ['warm', 'slow', 'fine']);
  });

  test('an event aborted for its limit while its frame waits is skipped when the process reaches it', async () => {
    const file = join(dir, 'aborted-waiting.txt');
    const pipelined = pool();
    assert.equal(await pipelined.run(task(file, 'warm')), 'ran warm');
    const sent = Date.now();
    const slow = pipelined.run(task(file, 'slow', 0.3));
    const late = new TaskSignal();
    late.expiresAt = sent + 50;
    const waiting = pipelined.run(task(file, 'late'), late);
    // The host's own timer fires first (as the handler's deadline queue does): the event fails at once.
    await new Promise((resolve) => setImmediate(resolve));
    blockUntil(() => Date.now() > late.expiresAt);
    late.abort('timeout');
    await assert.rejects(waiting, { name: 'AbortError', message: /aborted \(timeout\)/ });
    assert.equal(await slow, 'ran slow');
    assert.equal(await pipelined.run(task(file, 'after')), 'ran after');
    assert.deepEqual(runs(file), ['warm', 'slow', 'after']);
  });
});

describe('a Python handler with a short limit, pipelined behind a slow event', () => {
  test('the slow event times out; the events its process served or was serving when the limit fired run once each', async () => {
    const file = join(dir, 'handler.txt');
    const rt = await startRuntime(
      {
        events: [{ id: '100', name: 'work' }],
        extensions: { folder: FOLDER, pool: { size: 1, pipeline: 4 } },
        handlers: [{ type: 'extension', name: 'counted', entry_point: 'python:counted_handler.CountedHandler', configuration: file, target_events: ['100'], timeout: 2, fail_after_errors: 0 }],
      },
      FOLDER,
    );
    try {
      const handled = (tag: string) =>
        waitFor(() => rt.events.find((e) => e.id === ENGINE_EVENTS.info && e.message === `ran ${tag}`), { what: `the result of "${tag}"`, timeoutMs: 30_000 });
      const emit = (tag: string, sleep = 0) => rt.runtime.host.emit('100', { data: { tag, sleep } });
      await emit('warm');
      await handled('warm');
      const slowSent = Date.now();
      const slow = await emit('slow', 2.5);
      await waitFor(() => runs(file).includes('slow'), { what: '"slow" running', timeoutMs: 30_000 });
      // Sent late in the slow event's run, so their own limit is far: they wait behind it in the process.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await emit('b');
      await emit('c', 0.5);
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The limit of "slow" passes while the loop is held: when the hold
      // ends, "slow" and "b" are answered (unread) and "c" is running. The
      // loop then fires the limit's timer or reads the answers first (its
      // phases and timer lists decide, load shifts them): either way "slow"
      // is the timeout, its answer read past its limit.
      blockUntil(() => runs(file).includes('c'));
      // The hold reached past the limit of "slow" (2 s from its arrival): "c" runs only after its 2.5 s.
      assert.ok(Date.now() - slowSent > 2000);
      const failure = await waitFor(() => rt.events.find((e) => e.id === ENGINE_EVENTS.handlerFailed && e.data['event_uuid'] === slow.uuid), { what: 'the timeout of "slow"', timeoutMs: 30_000 });
      assert.equal(failure.data['reason'], 'timeout');
      await handled('b');
      await handled('c');
      await emit('after');
      await handled('after');
      assert.deepEqual(runs(file), ['warm', 'slow', 'b', 'c', 'after']);
    } finally {
      await rt.close();
    }
  });
});
