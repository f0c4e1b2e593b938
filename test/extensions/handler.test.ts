// The handler contract: lifecycle, TARGET_EVENTS, getConfiguration's
// decisions, results, grants, fail_after_errors, sending records and
// monitoring points, entry points.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { ConfigError, ExtensionLoadError } from '../../src/errors.js';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { resolveEntryPoint } from '../../src/extensions/loader.js';
import type { SendingRecord } from '../../src/hooks/channel.js';
import type { MonitoringPoint } from '../../src/hooks/monitor.js';
import { FIXTURES, startRuntime, type TestRuntime } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';
import { awaiting, calls, sameInstance } from './fixtures/lifecycle.js';

type HandlerInput = NonNullable<HookworkConfigInput['handlers']>[number];

const EVENTS = [
  { id: '2000', name: 'work' },
  { id: '2001', name: 'targeted-a' },
  { id: '2002', name: 'targeted-b' },
];

async function withRuntime(handlers: HandlerInput[], fn: (rt: TestRuntime) => Promise<void>): Promise<void> {
  const rt = await startRuntime({ events: EVENTS, extensions: { folder: FIXTURES, pool: { size: 1 } }, handlers }, FIXTURES);
  try {
    await fn(rt);
  } finally {
    await rt.close();
  }
}

async function emitAndSettle(rt: TestRuntime, id: string, input: Parameters<TestRuntime['runtime']['host']['emit']>[1] = {}): Promise<HookworkEvent> {
  const event = await rt.runtime.host.emit(id, input);
  await rt.runtime.services.extensions?.idle();
  return event;
}

const failuresFor = (rt: TestRuntime, source: HookworkEvent) =>
  rt.events.filter((e) => e.id === ENGINE_EVENTS.handlerFailed && e.data['event_uuid'] === source.uuid);

describe('extension handler lifecycle', () => {
  test('onStart/onStop run in the main process, several times; handle works without onStart in its worker', async () => {
    const before = { ...calls };
    await withRuntime(
      [{ type: 'extension', name: 'counting', entry_point: 'lifecycle.ts#Counting', configuration: 'cfg-text', target_events: ['2000'] }],
      async (rt) => {
        const service = rt.runtime.services.extensions;
        assert.ok(service);
        assert.equal(calls.start, before.start + 1);
        assert.equal(calls.configurations.at(-1), 'cfg-text');
        assert.equal((await service.stop('counting')).state, 'stopped');
        assert.equal(calls.stop, before.stop + 1);
        const ignored = await emitAndSettle(rt, '2000');
        assert.equal(rt.from('counting').length, 0, 'a stopped handler gets no events');
        assert.equal((await service.start('counting')).state, 'started');
        assert.equal(calls.start, before.start + 2);
        const handled = await emitAndSettle(rt, '2000');
        const results = rt.from('counting');
        assert.equal(results.length, 1);
        assert.equal(results[0]?.message, 'cfg-text:2000');
        assert.equal(results[0]?.data['started_in_worker'], false);
        assert.notEqual(ignored.uuid, handled.uuid);
      },
    );
    assert.equal(calls.stop, before.stop + 2, 'runtime close stops the handler');
  });

  test('an exception in onStart keeps the handler from starting: state failed, with the error', async () => {
    await withRuntime([{ type: 'extension', name: 'bad-start', entry_point: 'lifecycle.ts#FailingStart', target_events: ['2000'] }], async (rt) => {
      const info = rt.runtime.services.extensions?.get('bad-start');
      assert.equal(info?.state, 'failed');
      assert.equal(info?.lastError?.message, 'cannot connect to the licence server');
      assert.match(info?.lastError?.stack ?? '', /at FailingStart\.onStart/);
      await emitAndSettle(rt, '2000');
      assert.equal(rt.from('bad-start').length, 0);
    });
  });

  test('a missing module leaves the handler failed with a load error naming where it looked', async () => {
    await withRuntime([{ type: 'extension', name: 'ghost', entry_point: 'nowhere/ghost.ts#Ghost' }], async (rt) => {
      const info = rt.runtime.services.extensions?.get('ghost');
      assert.equal(info?.state, 'failed');
      assert.match(info?.lastError?.message ?? '', /could not load entry point "nowhere\/ghost\.ts#Ghost": no module found at .*nowhere\/ghost\.ts/);
    });
  });

  test('TARGET_EVENTS sets the events when the config names none; the config wins when it does', async () => {
    await withRuntime(
      [
        { type: 'extension', name: 'by-class', entry_point: 'lifecycle.ts#Targeted' },
        { type: 'extension', name: 'by-config', entry_point: 'lifecycle.ts#Targeted', target_events: ['2000'] },
      ],
      async (rt) => {
        assert.deepEqual(rt.runtime.services.extensions?.get('by-class')?.targets, ['2001', '2002']);
        for (const id of ['2000', '2001', '2002']) await emitAndSettle(rt, id);
        assert.deepEqual(rt.from('by-class').map((e) => e.message), ['targeted 2001', 'targeted 2002']);
        assert.deepEqual(rt.from('by-config').map((e) => e.message), ['targeted 2000']);
      },
    );
  });

  test('fail_after_errors consecutive failures stop the handler in a failed state; a success resets the count', async () => {
    await withRuntime(
      [{ type: 'extension', name: 'flaky', entry_point: 'lifecycle.ts#Decisions', target_events: ['2000'], fail_after_errors: 2 }],
      async (rt) => {
        await emitAndSettle(rt, '2000', { data: { result: 'no-message' } });
        await emitAndSettle(rt, '2000', { data: {} }); // success: the count starts again
        await emitAndSettle(rt, '2000', { data: { result: 'no-message' } });
        assert.equal(rt.runtime.services.extensions?.get('flaky')?.state, 'started');
        const last = await emitAndSettle(rt, '2000', { data: { result: 'no-message' } });
        const info = await waitFor(() => {
          const current = rt.runtime.services.extensions?.get('flaky');
          return current?.state === 'failed' ? current : undefined;
        }, 'the handler to stop');
        assert.match(info.lastError?.message ?? '', /Stopped after 2 consecutive failures; the last: handle\(\) gave an event without a "message"/);
        assert.equal(failuresFor(rt, last)[0]?.data['handler_stopped'], true);
        const ignored = await emitAndSettle(rt, '2000', { data: {} });
        assert.equal(failuresFor(rt, ignored).length, 0);
        assert.equal(rt.from('flaky').filter((e) => e.message === 'handled').length, 1);
      },
    );
  });
});

describe('one main-process instance, enabled, queue', () => {
  test('stop/start calls onStop/onStart on the same main-process instance (its own fields survive)', async () => {
    const built = sameInstance.built;
    await withRuntime([{ type: 'extension', name: 'same', entry_point: 'lifecycle.ts#SameInstance', target_events: ['2000'] }], async (rt) => {
      const service = rt.runtime.services.extensions;
      assert.ok(service);
      for (let i = 0; i < 2; i++) {
        assert.equal((await service.stop('same')).state, 'stopped');
        assert.equal((await service.start('same')).state, 'started');
      }
      // The first start's report went out while the runtime was being created, before the recorder.
      const starts = await waitFor(() => {
        const reports = rt.from('same');
        return reports.length === 2 ? reports : undefined;
      }, 'two restart reports');
      assert.deepEqual(starts.map((e) => [e.message, e.data['stops_before']]), [
        ['start 2', 1],
        ['start 3', 2],
      ]);
      assert.equal(sameInstance.built, built + 1, 'one instance built in the main process');
    });
  });

  test('an enabled: false handler is not started (no events handled) and starts through the service', async () => {
    const before = calls.start;
    await withRuntime(
      [{ type: 'extension', name: 'off', enabled: false, entry_point: 'lifecycle.ts#Counting', configuration: 'later', target_events: ['2000'] }],
      async (rt) => {
        const service = rt.runtime.services.extensions;
        assert.ok(service);
        assert.equal(service.get('off')?.state, 'stopped');
        assert.equal(calls.start, before, 'onStart did not run');
        await emitAndSettle(rt, '2000');
        assert.equal(service.get('off')?.counters.received, 0);
        assert.equal(rt.from('off').length, 0);
        assert.equal((await service.start('off')).state, 'started');
        assert.equal(calls.start, before + 1);
        await emitAndSettle(rt, '2000');
        assert.deepEqual(rt.from('off').map((e) => e.message), ['later:2000']);
      },
    );
  });

  test('with a pool of 1, a second event waits in the queue, then runs: both are handled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookwork-queue-'));
    const release = join(dir, 'release');
    try {
      await withRuntime([{ type: 'extension', name: 'holding', entry_point: 'lifecycle.ts#Holding', target_events: ['2000'] }], async (rt) => {
        const service = rt.runtime.services.extensions;
        assert.ok(service);
        assert.equal(service.stats().size, 1);
        await rt.runtime.host.emit('2000', { data: { n: 1, release } });
        await rt.runtime.host.emit('2000', { data: { n: 2, release } });
        // The first holds the only worker; the second is in the queue meanwhile.
        await waitFor(() => service.stats().queued === 1 && service.get('holding')?.inFlight === 2, 'the second event to wait in the queue');
        assert.equal(rt.from('holding').length, 0);
        writeFileSync(release, '');
        await service.idle();
        assert.deepEqual(rt.from('holding').map((e) => e.message).sort(), ['held 1', 'held 2']);
        assert.equal(service.get('holding')?.counters.handled, 2);
        assert.equal(service.stats().queued, 0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the pool size defaults to os.availableParallelism()', async () => {
    const rt = await startRuntime({ events: EVENTS, extensions: { folder: FIXTURES }, handlers: [] }, FIXTURES);
    try {
      assert.equal(rt.runtime.services.extensions?.stats().size, availableParallelism());
      assert.equal(rt.runtime.services.extensions?.pool.size, availableParallelism());
    } finally {
      await rt.close();
    }
  });
});

describe('getConfiguration decisions and results', () => {
  const handler: HandlerInput = { type: 'extension', name: 'decisions', entry_point: 'lifecycle.ts#Decisions', target_events: ['2000'], fail_after_errors: 0 };

  test('a value outside the contract and a rejected promise each reject that event with a failure', async () => {
    await withRuntime([handler], async (rt) => {
      const number = await emitAndSettle(rt, '2000', { data: { decision: 'number' } });
      const rejected = await emitAndSettle(rt, '2000', { data: { decision: 'reject-later' } });
      assert.match(String(failuresFor(rt, number)[0]?.data['error']), /getConfiguration\(\) returned number/);
      assert.equal(failuresFor(rt, rejected)[0]?.data['error'], 'refused after a look-up');
      assert.equal(failuresFor(rt, rejected)[0]?.data['stage'], 'getConfiguration');
      assert.equal(rt.runtime.services.extensions?.get('decisions')?.counters.rejected, 2);
    });
  });

  test('a delay that resolves to null skips; [configuration, text] emits the text then handles; parent.emit emits', async () => {
    await withRuntime([handler], async (rt) => {
      await emitAndSettle(rt, '2000', { data: { decision: 'delay-skip' } });
      assert.equal(rt.from('decisions').length, 0);
      const info = rt.runtime.services.extensions?.get('decisions');
      assert.equal(info?.counters.delayed, 1);
      assert.equal(info?.counters.skipped, 1);
      await emitAndSettle(rt, '2000', { data: { decision: 'emit-text' } });
      assert.deepEqual(rt.from('decisions').map((e) => [e.id, e.message]), [
        [ENGINE_EVENTS.info, 'a text from getConfiguration'],
        [ENGINE_EVENTS.info, 'handled'],
      ]);
      await emitAndSettle(rt, '2000', { data: { decision: 'parent-emit' } });
      const emitted = await waitFor(() => rt.from('decisions').find((e) => e.message === 'emitted through parent'), 'parent.emit');
      assert.equal(emitted.id, ENGINE_EVENTS.success);
      assert.equal(emitted.data['extra'], 1);
    });
  });

  test('a plain promise from getConfiguration that resolves after stop is dropped: not handled, no failure event', async () => {
    await withRuntime(
      [{ type: 'extension', name: 'awaiting', entry_point: 'lifecycle.ts#Awaiting', target_events: ['2000'], fail_after_errors: 0 }],
      async (rt) => {
        const service = rt.runtime.services.extensions;
        assert.ok(service);
        awaiting.length = 0;
        const source = await rt.runtime.host.emit('2000', { data: { n: 1 } });
        const resolveLate = await waitFor(() => awaiting[0], 'the pending decision');
        assert.equal(service.get('awaiting')?.inFlight, 1);
        assert.equal((await service.stop('awaiting')).state, 'stopped');
        assert.equal(service.get('awaiting')?.inFlight, 0, 'the undecided event ends with the stop');
        resolveLate('late');
        await service.idle();
        const info = service.get('awaiting');
        assert.equal(info?.counters.handled, 0);
        assert.equal(info?.counters.skipped, 1);
        assert.equal(info?.counters.failed, 0);
        assert.equal(rt.from('awaiting').length, 0, 'nothing handled, no failure event');
        assert.equal(failuresFor(rt, source).length, 0);
        // Started again, the handler decides and handles new events as usual.
        await service.start('awaiting');
        await rt.runtime.host.emit('2000', { data: { n: 2 } });
        const resolveNext = await waitFor(() => awaiting[1], 'the next decision');
        resolveNext('fresh');
        await service.idle();
        assert.deepEqual(rt.from('awaiting').map((e) => e.message), ['fresh 2']);
      },
    );
  });

  test('parent.delay with a value that is no delay rejects the event with an HKW_ERR_INVALID_ARGUMENT failure', async () => {
    await withRuntime([handler], async (rt) => {
      const source = await emitAndSettle(rt, '2000', { data: { decision: 'delay-infinite' } });
      const failure = failuresFor(rt, source)[0];
      assert.equal(failure?.data['stage'], 'getConfiguration');
      assert.equal(failure?.data['error_code'], 'HKW_ERR_INVALID_ARGUMENT');
      assert.match(String(failure?.data['error']), /parent\.delay\(seconds, fn\): seconds must be a finite number, 0 or more; got Infinity/);
    });
  });

  test('results without a message, with the reserved 20174, or holding a function are failures; 20202 gets details', async () => {
    await withRuntime([handler], async (rt) => {
      const errors: Record<string, string> = {};
      for (const result of ['no-message', 'reserved', 'function']) {
        const source = await emitAndSettle(rt, '2000', { data: { result } });
        const failure = failuresFor(rt, source)[0];
        assert.ok(failure, result);
        errors[result] = String(failure.data['error']);
      }
      assert.match(errors['no-message'] ?? '', /"message" is required/);
      assert.match(errors['reserved'] ?? '', /reserved to the engine/);
      assert.match(errors['function'] ?? '', /"fn" is a function/);
      await emitAndSettle(rt, '2000', { data: { result: 'failure' } });
      const failure = rt.from('decisions').find((e) => e.id === ENGINE_EVENTS.failure);
      assert.equal(failure?.message, 'upload failed');
      assert.equal(failure?.data['details'], '');
    });
  });
});

describe('grants, filters, sending records, monitoring, plain JavaScript', () => {
  test("the worker's copy carries the account token only when granted", async () => {
    await withRuntime(
      [
        { type: 'extension', name: 'granted', entry_point: 'lifecycle.ts#TokenReader', target_events: ['2000'], grants: ['account.token'] },
        { type: 'extension', name: 'not-granted', entry_point: 'lifecycle.ts#TokenReader', target_events: ['2000'] },
      ],
      async (rt) => {
        await emitAndSettle(rt, '2000', { account: { name: 'entra', token: 'secret-token' } });
        assert.deepEqual(rt.from('granted').map((e) => e.message), ['token=secret-token']);
        assert.deepEqual(rt.from('not-granted').map((e) => e.message), ['token=none']);
        assert.equal(rt.from('granted')[0]?.account.token, undefined, 'results never carry the token');
      },
    );
  });

  test("a result event carries its triggering event's account: that same frozen account when it has no token, groups or role, else a copy without them", async () => {
    await withRuntime([{ type: 'extension', name: 'observed', entry_point: 'plain-handler.mjs#Plain', target_events: ['2000'] }], async (rt) => {
      const account = { name: 'dave', uuid: 'uuid-dave', email: 'd@example.com', emails: [['Dave', 'd@example.com']] as [string, string][], peer: { address: '10.0.0.7', port: 2222 } };
      const plain = await emitAndSettle(rt, '2000', { account });
      const shared = rt.from('observed')[0];
      assert.equal(shared?.account, plain.account);
      assert.deepEqual(Object.keys(shared?.account ?? {}), ['uuid', 'name', 'email', 'emails', 'peer']);
      const grouped = await emitAndSettle(rt, '2000', { account: { ...account, groups: ['admins'], role: 'ops', token: 'secret-token' } });
      const copied = rt.from('observed')[1];
      assert.notEqual(copied?.account, grouped.account);
      assert.deepEqual(JSON.parse(JSON.stringify(copied?.account)), JSON.parse(JSON.stringify(plain.account)));
      assert.equal(copied?.account.token, undefined);
      assert.equal(copied?.account.groups, undefined);
      assert.equal(copied?.account.role, undefined);
    });
  });

  test('filters select the events a handler gets', async () => {
    await withRuntime(
      [
        {
          type: 'extension',
          name: 'filtered',
          entry_point: 'plain-handler.mjs#Plain',
          configuration: 'csv',
          target_events: ['2000'],
          target_usernames: ['alice'],
          data_filters: [['path', '*.csv']],
        },
      ],
      async (rt) => {
        await emitAndSettle(rt, '2000', { account: { name: 'alice' }, data: { path: '/in/a.csv' } });
        await emitAndSettle(rt, '2000', { account: { name: 'alice' }, data: { path: '/in/a.txt' } });
        await emitAndSettle(rt, '2000', { account: { name: 'bob' }, data: { path: '/in/b.csv' } });
        assert.deepEqual(rt.from('filtered').map((e) => [e.account.name, e.message]), [['alice', 'plain csv 2000']]);
      },
    );
  });

  test('a handler that follows every event never receives its own results', async () => {
    await withRuntime([{ type: 'extension', name: 'all', entry_point: 'plain-handler.mjs#Plain' }], async (rt) => {
      await emitAndSettle(rt, '2000');
      await rt.runtime.services.extensions?.idle();
      assert.equal(rt.runtime.services.extensions?.get('all')?.counters.received, 1);
      assert.equal(rt.from('all').length, 1);
    });
  });

  test('handled events publish a sending record and a monitoring point', async () => {
    await withRuntime([{ type: 'extension', name: 'observed', entry_point: 'plain-handler.mjs#Plain', target_events: ['2000'] }], async (rt) => {
      const records: SendingRecord[] = [];
      const points: MonitoringPoint[] = [];
      rt.runtime.host.channels.sending.subscribe((record) => records.push(record));
      rt.runtime.host.monitor.subscribe((batch) => points.push(...batch));
      const source = await emitAndSettle(rt, '2000', { account: { name: 'carol', uuid: 'uuid-carol' } });
      rt.runtime.host.monitor.flush();
      assert.equal(records.length, 1);
      assert.equal(records[0]?.handlerName, 'observed');
      assert.equal(records[0]?.requestId, source.uuid);
      assert.equal(records[0]?.accountId, 'uuid-carol');
      assert.deepEqual(records[0]?.events.map((e) => e.message), ['plain  2000']);
      const point = points.find((p) => p.kind === 'handler' && p.by === 'observed');
      assert.equal(point?.outcome, 'ok');
      assert.equal(point?.name, '2000');
    });
  });
});

describe('entry points and config problems', () => {
  test('the seed form, the dotted form, and path#Export resolve against the folder', () => {
    const folder = new URL('../../examples/extensions/', import.meta.url).pathname;
    for (const [spec, file, language, url] of [
      // The snake spelling finds the seed's Python module first (no demo_event_handler.ts there).
      ['python:extensions.demo_event_handler.DemoEventHandler', 'demo_event_handler.py', 'python', 'demo_event_handler'],
      ['demo_event_handler.DemoEventHandler', 'demo_event_handler.py', 'python', 'demo_event_handler'],
      ['demo-event-handler#DemoEventHandler', 'demo-event-handler.ts', 'node', undefined],
      ['demo-event-handler.ts#DemoEventHandler', 'demo-event-handler.ts', 'node', undefined],
    ] as const) {
      const resolved = resolveEntryPoint('demo', spec, folder);
      assert.ok(resolved.file.endsWith(`examples/extensions/${file}`), spec);
      assert.equal(resolved.language, language, spec);
      if (url !== undefined) assert.equal(resolved.url, url, spec);
      assert.equal(resolved.exportName, 'DemoEventHandler');
    }
    assert.throws(() => resolveEntryPoint('demo', 'NoModule', folder), ExtensionLoadError);
    assert.throws(() => resolveEntryPoint('demo', 'missing.ts#X', folder), /no module found/);
  });

  test('a bad filter in a handler is a config problem with its key; the runtime is refused', async () => {
    await assert.rejects(
      startRuntime(
        {
          events: EVENTS,
          extensions: { folder: FIXTURES, pool: { size: 1 } },
          handlers: [
            { type: 'extension', name: 'ok', entry_point: 'plain-handler.mjs#Plain' },
            { type: 'extension', name: 'bad', entry_point: 'plain-handler.mjs#Plain', target_source_addresses: ['10.0.0.0/40'], data_filters: [['path', 'm/(/']] },
          ],
        },
        FIXTURES,
      ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const keys = err.problems.map((p) => p.key);
        assert.ok(keys.includes('handlers.1.target_source_addresses.0'), keys.join(', '));
        assert.ok(keys.includes('handlers.1.data_filters.0'), keys.join(', '));
        return true;
      },
    );
  });
});
