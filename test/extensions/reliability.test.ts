// Point 7: a handler in an infinite loop, one that crashes its worker, one
// that exhausts its memory limit and one that throws each yield their
// failure event, and the next event is handled normally. The pool has one
// worker, so the next event proves the worker was replaced.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { FIXTURES, startRuntime, type TestRuntime } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';

let rt: TestRuntime;
let sequence = 0;

before(async () => {
  rt = await startRuntime(
    {
      events: [
        { id: '3000', name: 'work' },
        { id: '3001', name: 'work-with-a-short-limit' },
      ],
      extensions: { folder: FIXTURES, pool: { size: 1, resource_limits: { max_old_generation_mb: 64 } } },
      handlers: [
        {
          type: 'extension',
          name: 'unreliable',
          entry_point: 'unreliable.ts#Unreliable',
          target_events: ['3000'],
          // Generous: under a loaded machine a replacement worker may take seconds to boot.
          timeout: 60,
          fail_after_errors: 0,
        },
        {
          type: 'extension',
          name: 'short-limit',
          entry_point: 'unreliable.ts#Unreliable',
          target_events: ['3001'],
          timeout: 1,
          fail_after_errors: 0,
        },
      ],
    },
    FIXTURES,
  );
});

after(async () => {
  await rt.close();
});

async function send(mode: string, id = '3000'): Promise<HookworkEvent> {
  return rt.runtime.host.emit(id, { data: { mode, n: ++sequence } });
}

const LIMIT_MS = 30_000;

/** The bad event yields its failure event; the next one is handled by a (new) worker. */
async function failsThenRecovers(mode: string, id = '3000'): Promise<HookworkEvent> {
  const bad = await send(mode, id);
  const failure = await waitFor(() => rt.events.find((e) => e.id === ENGINE_EVENTS.handlerFailed && e.data['event_uuid'] === bad.uuid), {
    what: `the failure event for "${mode}"`,
    timeoutMs: LIMIT_MS,
  });
  const good = await send('fine');
  await waitFor(() => rt.events.find((e) => e.id === ENGINE_EVENTS.info && e.message === `ok ${String(good.data['n'])}`), {
    what: `the next event after "${mode}"`,
    timeoutMs: LIMIT_MS,
  });
  assert.equal(failure.data['handler'], id === '3000' ? 'unreliable' : 'short-limit');
  assert.equal(failure.data['stage'], 'handle');
  assert.equal(failure.data['event_id'], id);
  assert.equal(rt.runtime.services.extensions?.get(String(failure.data['handler']))?.state, 'started');
  return failure;
}

describe('extension reliability (pool of one worker)', () => {
  test('an infinite loop is stopped at the hard limit; its worker is terminated and replaced', async () => {
    const failure = await failsThenRecovers('loop', '3001');
    assert.equal(failure.data['reason'], 'timeout');
    assert.equal(failure.data['error_code'], 'HKW_ERR_TIMEOUT');
    assert.match(String(failure.data['error']), /did not finish within 1000 ms/);
  });

  test('a worker that exits is replaced; the failure says it died', async () => {
    const failure = await failsThenRecovers('crash');
    assert.equal(failure.data['error_code'], 'HKW_ERR_EXTENSION_WORKER_CRASH');
    assert.match(String(failure.data['error']), /worker exited with code: 7/);
  });

  test('a worker that exhausts its memory limit is replaced; the failure says so', async () => {
    const failure = await failsThenRecovers('oom');
    assert.equal(failure.data['error_code'], 'HKW_ERR_EXTENSION_WORKER_CRASH');
    assert.match(String(failure.data['error']), /out of memory \(limit 64 MB\)/);
  });

  test('a handler that throws fails this event only, with the error and its stack', async () => {
    const failure = await failsThenRecovers('throw');
    assert.equal(failure.data['error'], 'handler exploded');
    assert.match(String(failure.data['stack']), /TypeError: handler exploded\n\s+at /);
    assert.match(failure.message, /Handler "unreliable" failed on event 3000: handler exploded/);
  });

  test('an event that waits in the queue past its limit is removed from the queue', async () => {
    // The loop holds the only worker; the event queued behind it expires too.
    const loop = await send('loop', '3001');
    const queued = await send('fine', '3001');
    for (const source of [loop, queued]) {
      await waitFor(
        () => rt.events.find((e) => e.id === ENGINE_EVENTS.handlerFailed && e.data['event_uuid'] === source.uuid && e.data['reason'] === 'timeout'),
        { what: 'a timeout failure', timeoutMs: LIMIT_MS },
      );
    }
    assert.equal(rt.events.some((e) => e.message === `ok ${String(queued.data['n'])}`), false, 'the queued event never ran');
    await rt.runtime.services.extensions?.idle();
    const next = await send('fine');
    await waitFor(() => rt.events.find((e) => e.message === `ok ${String(next.data['n'])}`), { what: 'the pool to serve again', timeoutMs: LIMIT_MS });
  });
});
