// Python handlers in the engine: a worker stuck in a loop, one past its
// memory cap and one that calls sys.exit are killed or replaced, reported
// (20174) and the next event is handled (a pool of one process, so the next
// event proves the replacement); fail_after_errors; entry points that name
// a .py and a .ts module at once. Needs python3.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { waitFor } from '../helpers/wait-for.js';
import { startRuntime, type TestRuntime } from './helpers.js';

const FOLDER = fileURLToPath(new URL('./fixtures/conformance/', import.meta.url));
const LIMIT_MS = 60_000;

let rt: TestRuntime;

before(async () => {
  rt = await startRuntime(
    {
      events: [
        { id: '100', name: 'work' },
        { id: '101', name: 'work-with-a-short-limit' },
        { id: '102', name: 'work-that-fails' },
      ],
      extensions: { folder: FOLDER, pool: { size: 1, resource_limits: { max_process_memory_mb: 64 } } },
      handlers: [
        { type: 'extension', name: 'py', entry_point: 'python:conformance_handler.ConformanceHandler', configuration: 'conf', target_events: ['100'], timeout: 60, fail_after_errors: 0 },
        { type: 'extension', name: 'py-short', entry_point: 'python:extensions.conformance_handler.ConformanceHandler', configuration: 'conf', target_events: ['101'], timeout: 2, fail_after_errors: 0 },
        { type: 'extension', name: 'py-fails', entry_point: 'python:conformance_handler.ConformanceHandler', configuration: 'conf', target_events: ['102'], fail_after_errors: 2 },
      ],
    },
    FOLDER,
  );
});

after(async () => {
  await rt.close();
});

async function send(account: string, id = '100'): Promise<HookworkEvent> {
  return rt.runtime.host.emit(id, { account: { name: account, uuid: `uuid-${account}` } });
}

/** The bad event yields its failure event; the next one is handled by a (new) worker. */
async function failsThenRecovers(account: string, id = '100'): Promise<HookworkEvent> {
  const bad = await send(account, id);
  const failure = await waitFor(() => rt.events.find((e) => e.id === ENGINE_EVENTS.handlerFailed && e.data['event_uuid'] === bad.uuid), {
    what: `the failure event for "${account}"`,
    timeoutMs: LIMIT_MS,
  });
  const good = await send('text');
  await waitFor(
    () =>
      rt.events.find((e) => e.id === ENGINE_EVENTS.info && e.message === 'handled configured:conf' && e.account.uuid === good.account.uuid && e.timestamp.timestamp >= good.timestamp.timestamp),
    { what: `the next event after "${account}"`, timeoutMs: LIMIT_MS },
  );
  assert.equal(failure.data['stage'], 'handle');
  assert.equal(rt.runtime.services.extensions?.get(String(failure.data['handler']))?.state, 'started');
  return failure;
}

describe('Python handlers: isolation and reliability (pool of one process)', () => {
  test('both seed spellings start, in their own main processes', () => {
    for (const name of ['py', 'py-short', 'py-fails']) {
      const info = rt.runtime.services.extensions?.get(name);
      assert.equal(info?.state, 'started', `${name}: ${JSON.stringify(info?.lastError)}`);
    }
  });

  test('a handler that raises fails this event only, with the Python traceback as its stack', async () => {
    const failure = await failsThenRecovers('fail');
    assert.equal(failure.data['error'], 'bad value default');
    assert.equal(failure.data['reason'], 'error');
    assert.match(String(failure.data['stack']), /^Traceback \(most recent call last\):[\s\S]*conformance_handler\.py", line \d+, in handle\n[\s\S]*ValueError: bad value default\n$/);
  });

  test('a worker calling sys.exit is replaced; the failure says it exited with its code', async () => {
    const failure = await failsThenRecovers('exit');
    assert.equal(failure.data['error_code'], 'HKW_ERR_EXTENSION_WORKER_CRASH');
    assert.match(String(failure.data['error']), /worker exited with code: 7/);
  });

  test('a worker past its memory cap (max_process_memory_mb) is replaced; the failure says out of memory', async () => {
    const failure = await failsThenRecovers('hog');
    assert.equal(failure.data['error_code'], 'HKW_ERR_EXTENSION_WORKER_CRASH');
    assert.match(String(failure.data['error']), /out of memory \(limit 64 MB\)/);
  });

  test('a worker stuck in a loop is killed at the hard limit and replaced', async () => {
    const failure = await failsThenRecovers('loop', '101');
    assert.equal(failure.data['reason'], 'timeout');
    assert.equal(failure.data['error_code'], 'HKW_ERR_TIMEOUT');
    assert.equal(failure.data['handler'], 'py-short');
  });

  test('fail_after_errors: consecutive failures of handle() stop the handler, failed', async () => {
    await send('fail', '102');
    await send('fail', '102');
    await waitFor(() => rt.runtime.services.extensions?.get('py-fails')?.state === 'failed', { what: 'py-fails to stop', timeoutMs: LIMIT_MS });
    const stopped = rt.events.filter((e) => e.id === ENGINE_EVENTS.handlerFailed && e.data['handler'] === 'py-fails');
    assert.deepEqual(stopped.map((e) => e.data['handler_stopped']), [false, true]);
    assert.match(rt.runtime.services.extensions?.get('py-fails')?.lastError?.message ?? '', /Stopped after 2 consecutive failures; the last: bad value default/);
  });
});

describe('Python entry points', () => {
  test('a .py and a .ts module of the same name: the handler fails, naming both', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'hookwork-py-'));
    writeFileSync(join(folder, 'twin_handler.py'), 'class Twin(object):\n    @staticmethod\n    def handle(event, configuration):\n        return None\n');
    writeFileSync(join(folder, 'twin_handler.ts'), 'export class Twin { static handle() {} }\n');
    writeFileSync(join(folder, 'only_ts.ts'), 'export class OnlyTs { static handle() { return "from ts"; } }\n');
    const local = await startRuntime(
      {
        events: [{ id: '100', name: 'work' }],
        extensions: { folder, pool: { size: 1 } },
        handlers: [
          { type: 'extension', name: 'twin', entry_point: 'python:extensions.twin_handler.Twin' },
          { type: 'extension', name: 'only-ts', entry_point: 'python:extensions.only_ts.OnlyTs', target_events: ['100'] },
        ],
      },
      folder,
    );
    try {
      const twin = local.runtime.services.extensions?.get('twin');
      assert.equal(twin?.state, 'failed');
      assert.match(twin?.lastError?.message ?? '', /HKW|could not load entry point "python:extensions\.twin_handler\.Twin": it names both .*twin_handler\.py and .*twin_handler\.ts/);
      // A TypeScript module alone keeps today's meaning of the python: spelling.
      assert.equal(local.runtime.services.extensions?.get('only-ts')?.state, 'started');
      await local.runtime.host.emit('100', {});
      await local.runtime.services.extensions?.idle();
      assert.ok(local.from('only-ts').some((e) => e.message === 'from ts'));
    } finally {
      await local.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('the interpreter (extensions.python)', () => {
  test('a path given in extensions.python is the interpreter the handler runs on; one that does not exist fails the handler, naming it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'hookwork-py-interpreter-'));
    // A name no PATH has: only the configured path can start it.
    const interpreter = join(folder, 'interpreter-for-hookwork');
    symlinkSync(execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim(), interpreter);
    const missing = join(folder, 'no-such-python3');
    try {
      for (const [path, works] of [
        [interpreter, true],
        [missing, false],
      ] as const) {
        const local = await startRuntime(
          {
            events: [{ id: '100', name: 'work' }],
            extensions: { folder: FOLDER, python: path, pool: { size: 1 } },
            handlers: [{ type: 'extension', name: 'py', entry_point: 'python:conformance_handler.ConformanceHandler', configuration: 'conf', target_events: ['100'] }],
          },
          FOLDER,
        );
        try {
          const handler = local.runtime.services.extensions?.get('py');
          if (works) {
            assert.equal(handler?.state, 'started');
            await local.runtime.host.emit('100', { account: { name: 'text', uuid: 'uuid-text' } });
            await waitFor(() => local.from('py').some((e) => e.message === 'handled configured:conf'), { what: 'the event handled', timeoutMs: LIMIT_MS });
          } else {
            assert.equal(handler?.state, 'failed');
            assert.match(handler?.lastError?.message ?? '', new RegExp(`could not be started.*${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
          }
        } finally {
          await local.close();
        }
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
