// The process pool pipelines handle frames (extensions.pool.pipeline): up to
// N frames wait in one process, served in order. A crash or a kill fails the
// running event only; the frames behind it are handled by the replacement.
// An event aborted while its frame waits fails at once. A pool of one Python
// process, so every frame goes to the same one. Needs python3.

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ExtensionTask } from '../../src/extensions/contract.js';
import { ProcessPool } from '../../src/extensions/process-pool.js';
import { PythonExtensions } from '../../src/extensions/python.js';
import { TaskSignal } from '../../src/extensions/task-signal.js';
import { extensionsConfigSchema } from '../../src/extensions/config-schema.js';
import { silentLogger } from '../../src/logger.js';
import { startRuntime } from './helpers.js';

const FOLDER = fileURLToPath(new URL('./fixtures/conformance/', import.meta.url));
const python = new PythonExtensions({ folder: FOLDER, poolSize: 1, logger: silentLogger() });
const pools: ProcessPool[] = [];

function pool(pipeline: number): ProcessPool {
  const made = new ProcessPool({ size: 1, pipeline, command: python.command('worker'), name: 'python', logger: silentLogger() });
  pools.push(made);
  return made;
}

function task(accountName: string): ExtensionTask {
  return {
    module: 'conformance_handler',
    exportName: 'ConformanceHandler',
    configuration: 'conf',
    event: { id: '100', account: { name: accountName }, data: {} } as unknown as ExtensionTask['event'],
  };
}

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await python.close();
});

describe('process pool: pipelined handle frames', () => {
  test('pipeline 4: four events are all in the one process at once, none queued, answered in order', async () => {
    const pipelined = pool(4);
    assert.equal(await pipelined.run(task('text')), 'handled conf'); // the process is up
    const runs = [pipelined.run(task('text')), pipelined.run(task('none')), pipelined.run(task('text')), pipelined.run(task('one'))];
    assert.equal(pipelined.stats.queued, 0);
    assert.deepEqual(await Promise.all(runs), ['handled conf', null, 'handled conf', { message: 'one', value: 1 }]);
  });

  test('pipeline 1: one frame at a time, the rest wait in the queue', async () => {
    const single = pool(1);
    assert.equal(await single.run(task('text')), 'handled conf');
    const runs = [single.run(task('text')), single.run(task('text')), single.run(task('text'))];
    assert.equal(single.stats.queued, 2);
    assert.deepEqual(await Promise.all(runs), ['handled conf', 'handled conf', 'handled conf']);
  });

  test('a process that exits while frames wait behind it: the running event fails with its exit code, the others are handled by its replacement', async () => {
    const pipelined = pool(4);
    assert.equal(await pipelined.run(task('text')), 'handled conf');
    const exiting = pipelined.run(task('exit'));
    const behind = [pipelined.run(task('text')), pipelined.run(task('none'))];
    await assert.rejects(exiting, /exited with code: 7/);
    assert.deepEqual(await Promise.all(behind), ['handled conf', null]);
  });

  test('aborting the running event kills its process; the frames behind it are handled by the replacement', async () => {
    const pipelined = pool(4);
    assert.equal(await pipelined.run(task('text')), 'handled conf');
    const signal = new TaskSignal();
    const stuck = pipelined.run(task('loop'), signal);
    const behind = [pipelined.run(task('text')), pipelined.run(task('one'))];
    signal.abort('timeout');
    await assert.rejects(stuck, { name: 'AbortError' });
    assert.deepEqual(await Promise.all(behind), ['handled conf', { message: 'one', value: 1 }]);
  });

  test('an event aborted while its frame waits in the process fails at once; the process goes on serving', async () => {
    const pipelined = pool(4);
    assert.equal(await pipelined.run(task('text')), 'handled conf');
    const first = pipelined.run(task('text'));
    const signal = new TaskSignal();
    const waiting = pipelined.run(task('one'), signal);
    signal.abort('timeout');
    await assert.rejects(waiting, { name: 'AbortError' });
    assert.equal(await first, 'handled conf');
    assert.equal(await pipelined.run(task('none')), null);
    assert.equal(pipelined.stats.threads, 1);
  });

  test('an answered task is not kept alive by its abort signal (a handler keeps the signal, its job, until the event ends)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const pipelined = pool(4);
    const signal = new TaskSignal();
    let handled: ExtensionTask | undefined = task('text');
    const ref = new WeakRef(handled);
    assert.equal(await pipelined.run(handled, signal), 'handled conf');
    handled = undefined;
    let gone = false;
    for (let i = 0; i < 5 && !gone; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
      gone = ref.deref() === undefined;
    }
    assert.equal(gone, true, 'the task (its event copy, its encoded bytes) is let go of once answered');
    // Aborting it now is a no-op: the process goes on serving.
    signal.abort('late');
    assert.equal(await pipelined.run(task('none')), null);
    assert.equal(pipelined.stats.threads, 1);
  });

  test('extensions.pool.pipeline: unset, worker threads take 16 events each and processes 4; set, both take it; 1 turns it off', async () => {
    assert.equal(extensionsConfigSchema.parse({}).pool.pipeline, undefined);
    assert.equal(extensionsConfigSchema.parse({ pool: { pipeline: 1 } }).pool.pipeline, 1);
    assert.throws(() => extensionsConfigSchema.parse({ pool: { pipeline: 0 } }));
    const grants = { readPaths: [], writePaths: [] };
    for (const [pipeline, threads, processes] of [[undefined, 16, 4], [2, 2, 2], [1, 1, 1]] as const) {
      const { runtime, close } = await startRuntime({ extensions: { folder: FOLDER, pool: { size: 1, ...(pipeline === undefined ? {} : { pipeline }) } } }, FOLDER);
      try {
        const service = runtime.services.extensions!;
        assert.equal(service.pool.pipeline, threads);
        assert.equal(service.python.pool.pipeline, processes);
        assert.equal(service.nodeProcesses.pool(grants).pipeline, processes);
      } finally {
        await close();
      }
    }
  });
});
