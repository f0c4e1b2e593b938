// The examples' background loops run many passes without piling up abort
// listeners on their task's signal (one per pass would pass node's limit of
// 10 and warn MaxListenersExceededWarning). Each example runs against a
// small fake context that hands the test the task's function, so the test
// owns the signal and can count its listeners.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import LunchWatch from '../../../examples/plugins/lunch-watch.js';
import { plugin as monitoring } from '../../../examples/plugins/monitoring.js';
import type { MonitoringPoint, TaskFn } from '../../../src/index.js';
import { silentLogger } from '../../../src/logger.js';
import { testReceiver } from '../../helpers/receiver.js';
import { waitFor } from '../../helpers/wait-for.js';

function fakeContext(config: unknown, extra: Record<string, unknown> = {}) {
  const tasks: TaskFn[] = [];
  const ctx = {
    name: 'example',
    version: '1.0.0',
    config,
    logger: silentLogger(),
    signal: new AbortController().signal,
    host: { server: { name: 'test', uuid: '00000000-0000-0000-0000-000000000000' } },
    on: () => () => {},
    task: (fn: TaskFn) => {
      tasks.push(fn);
      return () => {};
    },
    ...extra,
  };
  return { ctx, tasks };
}

const abortListeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

test('lunch-watch: 100 passes of the loop keep at most one abort listener on the task signal', async (t) => {
  let passes = 0;
  const { ctx, tasks } = fakeContext(LunchWatch.configSchema.parse({ interval_ms: 1 }), {
    call: (method: string) => {
      assert.equal(method, 'agents.list');
      passes++;
      return [];
    },
  });
  const watch = new LunchWatch(ctx as never);
  watch.start();
  assert.equal(tasks.length, 1);
  const controller = new AbortController();
  t.after(() => controller.abort()); // ends the loop when an assertion fails too
  const running = Promise.resolve((tasks[0] as TaskFn)(controller.signal)).then(() => 'ended', () => 'ended');
  let most = 0;
  await waitFor(() => {
    most = Math.max(most, abortListeners(controller.signal));
    return passes >= 100;
  }, { what: '100 passes of the loop', timeoutMs: 20_000 });
  assert.ok(most <= 1, `at most one abort listener at a time (saw ${most})`);
  controller.abort();
  assert.equal(await running, 'ended', 'the loop ends on abort');
  assert.equal(abortListeners(controller.signal), 0);
});

test('monitoring: 100 passes of the shipping loop keep at most one abort listener on the task signal', async (t) => {
  const collector = await testReceiver(t);
  const url = `${collector.url}/points`;
  let listener: ((batch: readonly MonitoringPoint[]) => void) | undefined;
  const { ctx, tasks } = fakeContext(monitoring.configSchema?.parse({ url, flush_interval_ms: 1 }), {
    onMonitoring: (fn: typeof listener) => {
      listener = fn;
      return () => {};
    },
  });
  const hooks = (await monitoring.setup(ctx as never)) ?? {};
  assert.equal(tasks.length, 1);
  const controller = new AbortController();
  t.after(() => controller.abort()); // ends the loop when an assertion fails too
  const running = Promise.resolve((tasks[0] as TaskFn)(controller.signal));
  const point: MonitoringPoint = { kind: 'gate', name: 'pre-upload', by: 'test', outcome: 'ok', durationMs: 0, at: Date.now() };
  let most = 0;
  // Each POST is at least one timer pass; the empty passes in between (every 1 ms) count too.
  for (let shipped = 0; shipped < 100; shipped++) {
    listener?.([point]);
    await waitFor(() => {
      most = Math.max(most, abortListeners(controller.signal));
      return collector.requests.length > shipped;
    }, { what: `batch ${shipped + 1} shipped`, timeoutMs: 20_000 });
  }
  assert.ok(most <= 1, `at most one abort listener at a time (saw ${most})`);
  await hooks.stop?.();
  controller.abort();
  await running;
  assert.equal(abortListeners(controller.signal), 0);
});
