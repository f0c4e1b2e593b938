// Limits and defaults of one extension handler, driven through a stub pool
// whose runs the test settles by hand: the fail_after_errors default and its
// single stop, the hard limit's default and bound, parent.delay's bounds.

import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { afterEach, describe, test } from 'node:test';
import { ConfigError, InvalidArgumentError } from '../../src/errors.js';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { MAX_TIMEOUT_SECONDS, extensionHandlerSchema, extensionsConfigSchema, type ExtensionHandlerConfig } from '../../src/extensions/config-schema.js';
import type { ExtensionTask, HandleResult } from '../../src/extensions/contract.js';
import { ExtensionHandler } from '../../src/extensions/handler.js';
import { TaskExpiredError, type TaskSignal } from '../../src/extensions/task-signal.js';
import type { ExtensionPool } from '../../src/extensions/pool.js';
import { createHost, type Host } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';
import { awaiting, calls, parents } from './fixtures/lifecycle.js';
import { waitFor } from '../helpers/wait-for.js';
import { FIXTURES, startRuntime } from './helpers.js';

interface StubRun {
  readonly task: ExtensionTask;
  readonly signal: TaskSignal | undefined;
  resolve(result: HandleResult): void;
  reject(error: Error): void;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A host, a stub pool whose runs wait for the test, and one started handler. */
async function setUp(input: Record<string, unknown>, override: Partial<ExtensionHandlerConfig> = {}) {
  const host = createHost({ logger: silentLogger(), events: [{ id: '2000', name: 'work' }] });
  const runs: StubRun[] = [];
  const pool = {
    run: (task: ExtensionTask, signal?: TaskSignal) => new Promise<HandleResult>((resolve, reject) => runs.push({ task, signal, resolve, reject })),
    describeFailure: (err: unknown) => err as Error,
  } as unknown as ExtensionPool;
  const config = { ...extensionHandlerSchema.parse({ type: 'extension', target_events: ['2000'], ...input }), ...override };
  const handler = new ExtensionHandler({ config, host, pool, folder: FIXTURES, logger: silentLogger() });
  const failures: HookworkEvent[] = [];
  host.on(ENGINE_EVENTS.handlerFailed, (event) => {
    failures.push(event);
  });
  await handler.start();
  assert.equal(handler.state, 'started');
  cleanups.push(async () => {
    handler.abortAll('test over');
    await handler.stop();
    await host.close();
  });
  return { host, handler, runs, failures };
}

const emit = (host: Host, data: Record<string, unknown> = {}): Promise<HookworkEvent> => host.emit('2000', { data });

describe('fail_after_errors', () => {
  test('defaults to 10: a handler with the default stops after exactly 10 consecutive failures', async () => {
    const parsed = extensionHandlerSchema.parse({ type: 'extension', name: 'x', entry_point: 'lifecycle.ts#Counting' });
    assert.equal(parsed.fail_after_errors, 10);
    const { host, handler, runs, failures } = await setUp({ name: 'default-limit', entry_point: 'lifecycle.ts#Counting' });
    assert.equal(handler.config.fail_after_errors, 10);
    for (let i = 1; i <= 10; i++) {
      await emit(host);
      assert.equal(runs.length, i);
      runs[i - 1]?.reject(new Error(`boom ${i}`));
      await waitFor(() => failures.length === i, `failure ${i}`);
      assert.equal(handler.info().consecutiveFailures, i);
      if (i < 10) assert.equal(handler.state, 'started', `still started after ${i} failures`);
    }
    await waitFor(() => handler.state === 'failed', 'the handler to stop');
    assert.deepEqual(failures.map((f) => f.data['handler_stopped']), [...Array<boolean>(9).fill(false), true]);
    assert.match(handler.info().lastError?.message ?? '', /^Stopped after 10 consecutive failures; the last: boom 10/);
  });

  test('failures that reach the limit together stop the handler once; lastError keeps the first stop', async () => {
    const stopsBefore = calls.stop;
    const { host, handler, runs, failures } = await setUp({ name: 'together', entry_point: 'lifecycle.ts#Counting', fail_after_errors: 2 });
    for (let i = 0; i < 3; i++) await emit(host);
    assert.equal(runs.length, 3);
    // All three settle in the same tick: the 2nd and 3rd both reach the limit before any stop runs.
    runs.forEach((run, i) => run.reject(new Error(`boom ${i + 1}`)));
    await waitFor(() => failures.length === 3, 'three failure events');
    await waitFor(() => handler.state === 'failed', 'the handler to stop');
    await handler.stop(); // waits for every stop already scheduled
    assert.deepEqual(failures.map((f) => f.data['handler_stopped']), [false, true, false]);
    assert.equal(handler.state, 'failed');
    assert.match(handler.info().lastError?.message ?? '', /^Stopped after 2 consecutive failures; the last: boom 2$/m);
    assert.equal(calls.stop, stopsBefore + 1, 'onStop ran once');
  });
});

describe('the hard limit (timeout)', () => {
  test('defaults to 600 seconds', () => {
    const parsed = extensionHandlerSchema.parse({ type: 'extension', name: 'x', entry_point: 'lifecycle.ts#Counting' });
    assert.equal(parsed.timeout, 600);
  });

  test(`is at most ${MAX_TIMEOUT_SECONDS} s (the longest Node timer), with a message saying so`, async () => {
    const base = { type: 'extension', name: 'x', entry_point: 'lifecycle.ts#Counting' };
    assert.equal(MAX_TIMEOUT_SECONDS, Math.floor((2 ** 31 - 1) / 1000));
    assert.equal(extensionHandlerSchema.parse({ ...base, timeout: MAX_TIMEOUT_SECONDS }).timeout, MAX_TIMEOUT_SECONDS);
    const result = extensionHandlerSchema.safeParse({ ...base, timeout: MAX_TIMEOUT_SECONDS + 1 });
    assert.equal(result.success, false);
    assert.match(result.error?.issues[0]?.message ?? '', /must be at most 2147483 seconds \(about 24\.8 days, the longest timer Node keeps\)/);
    await assert.rejects(
      startRuntime({ extensions: { folder: FIXTURES, pool: { size: 1 } }, handlers: [{ ...base, type: 'extension', timeout: 3_000_000 }] }, FIXTURES),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        const problem = err.problems.find((p) => p.key === 'handlers.0.timeout');
        assert.ok(problem, err.problems.map((p) => p.key).join(', '));
        assert.match(problem.message, /at most 2147483 seconds/);
        return true;
      },
    );
  });

  test('a deadline past the longest timer arms a capped timer (no TimeoutOverflowWarning, no 1 ms re-arming)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      if (warning.name === 'TimeoutOverflowWarning') warnings.push(warning);
    };
    process.on('warning', onWarning);
    cleanups.push(() => {
      process.off('warning', onWarning);
    });
    // A config that did not go through the schema (the handler is public API).
    const { host, handler } = await setUp({ name: 'long-limit', entry_point: 'lifecycle.ts#Counting' }, { timeout: 3_000_000 });
    await emit(host);
    assert.equal(handler.inFlight, 1);
    // Uncapped, the timer would fire after 1 ms and warn on every re-arm.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(warnings, []);
    assert.equal(handler.inFlight, 1);
    assert.equal(handler.counters.timeouts, 0);
  });
});

describe('the limit carried to the worker (expiresAt)', () => {
  test('the task signal carries the event\'s deadline on the wall clock; a runtime\'s "expired" is reported as the timeout', async () => {
    const { host, handler, runs, failures } = await setUp({ name: 'expiring', entry_point: 'lifecycle.ts#Counting', timeout: 30 });
    const before = Date.now();
    const event = await emit(host);
    await waitFor(() => runs.length === 1, { what: 'the run' });
    const run = runs[0] as StubRun;
    assert.ok(run.signal !== undefined);
    assert.ok(run.signal.expiresAt >= before + 30_000 && run.signal.expiresAt <= Date.now() + 30_000, String(run.signal.expiresAt));
    // The runtime reached the frame past the deadline before the timer here fired.
    run.reject(new TaskExpiredError());
    const failure = await waitFor(() => failures.find((f) => f.data['event_uuid'] === event.uuid), { what: 'the failure event' });
    assert.equal(failure.data['reason'], 'timeout');
    assert.equal(handler.counters.timeouts, 1);
    assert.equal(handler.inFlight, 0);
  });
});

describe('an answer read past the limit, before the limit\'s timer has run', () => {
  test('is the timeout, as it would have been on a loop on time: the result is not emitted, a failure is not the error; one read before the limit is handled', async (t) => {
    const { host, handler, runs, failures } = await setUp({ name: 'read-late', entry_point: 'lifecycle.ts#Counting', timeout: 30 });
    // The deadlines' clock moves only when the test moves it: the real 30 s timer never decides here.
    let now = performance.now();
    t.mock.method(performance, 'now', () => now);
    const inTime = await emit(host);
    const lateResult = await emit(host);
    const lateFailure = await emit(host);
    await waitFor(() => runs.length === 3, { what: 'the three runs' });
    now += 29_999;
    runs[0]?.resolve('in time');
    await waitFor(() => handler.counters.handled === 1, { what: 'the answer read in time' });
    // A loop held up past the limit may read the answers before it runs the
    // limit's timer (an order of its own): here they come first, always.
    now += 1;
    runs[1]?.resolve('too late');
    runs[2]?.reject(new Error('too late'));
    await handler.idle();
    assert.deepEqual(
      failures.map((f) => [f.data['event_uuid'], f.data['reason']]),
      [
        [lateResult.uuid, 'timeout'],
        [lateFailure.uuid, 'timeout'],
      ],
    );
    assert.ok(!failures.some((f) => f.data['event_uuid'] === inTime.uuid));
    assert.equal(handler.counters.timeouts, 2);
    assert.equal(handler.counters.handled, 1);
    assert.equal(handler.counters.emitted, 1);
    assert.equal(handler.counters.failed, 2);
  });
});

describe('the limit covers the wait for an answer, not the emits of one read in time', () => {
  test('a getConfiguration decision read past the limit is the timeout, and no run is sent for it', async (t) => {
    const { host, handler, runs, failures } = await setUp({ name: 'decided-late', entry_point: 'lifecycle.ts#Awaiting', timeout: 30 });
    let now = performance.now();
    t.mock.method(performance, 'now', () => now);
    awaiting.length = 0;
    const late = await emit(host, { n: 1 });
    const decide = await waitFor(() => awaiting[0], { what: 'the pending decision' });
    // Past the limit, before its (real, 30 s) timer has run: the decision comes first.
    now += 30_000;
    decide('cfg');
    await waitFor(() => runs.length > 0 || failures.length > 0, { what: 'a run or a failure' });
    assert.equal(runs.length, 0, 'nothing handed to the pool');
    assert.deepEqual(failures.map((f) => [f.data['event_uuid'], f.data['reason']]), [[late.uuid, 'timeout']]);
    assert.equal(handler.counters.timeouts, 1);
    assert.equal(handler.inFlight, 0);
  });

  test('a result read in time is handled, though its result event\'s emit waits past the limit: no timeout beside the event emitted', async (t) => {
    const { host, handler, runs, failures } = await setUp({ name: 'emit-waits', entry_point: 'lifecycle.ts#Counting', timeout: 0.2 });
    // The deadlines' clock stands still until the test moves it: the answer is read in time however slow the machine is.
    let now = performance.now();
    t.mock.method(performance, 'now', () => now);
    let release!: () => void;
    let holding = false;
    // An emit stage that holds the result event, the first after the one handled (as a durable enqueue waiting on its store would).
    host.addEmitStage((event) => {
      if (event.id === '2000' || holding) return undefined;
      holding = true;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await emit(host);
    await waitFor(() => runs.length === 1, { what: 'the run' });
    runs[0]?.resolve('in time');
    await waitFor(() => holding, { what: 'the result event held' });
    // The limit passes while the result event waits; then its (real, 200 ms) timer, armed at the emit, runs before this one.
    now += 1000;
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await handler.idle();
    assert.deepEqual(failures, []);
    assert.equal(handler.counters.timeouts, 0);
    assert.equal(handler.counters.handled, 1);
    assert.equal(handler.counters.emitted, 1);
  });
});

describe('parent.delay', () => {
  test('refuses a delay that is not a finite number of seconds, 0 or more, with an InvalidArgumentError', async () => {
    await setUp({ name: 'delays', entry_point: 'lifecycle.ts#Decisions' });
    const parent = parents.get('delays');
    assert.ok(parent);
    for (const seconds of [Number.NaN, -1, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      assert.throws(
        () => parent.delay(seconds, () => 'cfg'),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, String(err));
          assert.equal(err.code, 'HKW_ERR_INVALID_ARGUMENT');
          assert.match(err.message, /^parent\.delay\(seconds, fn\): seconds must be a finite number, 0 or more; got /);
          return true;
        },
        String(seconds),
      );
    }
    assert.throws(() => parent.delay(1, 'cfg' as unknown as () => string), /fn must be a function; got string/);
  });

  test('a delay past the longest Node timer does not fire early; cancel still skips it', async () => {
    await setUp({ name: 'long-delay', entry_point: 'lifecycle.ts#Decisions' });
    const parent = parents.get('long-delay');
    assert.ok(parent);
    let fired = false;
    const delayed = parent.delay(3_000_000, () => {
      fired = true;
      return 'cfg';
    });
    assert.equal(delayed.seconds, 3_000_000);
    // Unchained, setTimeout would clamp 3e9 ms to 1 ms and fire at once.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(fired, false);
    delayed.cancel();
    assert.equal(await delayed, null);
    assert.equal(fired, false);
  });
});

describe('the pool', () => {
  test('extensions.pool.size defaults to os.availableParallelism() in the schema', () => {
    assert.equal(extensionsConfigSchema.parse({}).pool.size, availableParallelism());
  });
});
