// SFTPPlus (seed 000): the handler class's __init__ runs "in each worker and
// in the main process". The worker constructs it once, before its first
// event, not once per event.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../helpers/wait-for.js';
import { FIXTURES, startRuntime } from './helpers.js';

test('a TypeScript handler class is constructed once in each worker (and in the main process), before its first event', async () => {
  const rt = await startRuntime(
    {
      events: [{ id: '2000', name: 'work' }],
      extensions: { folder: FIXTURES, pool: { size: 1 } },
      handlers: [{ type: 'extension', name: 'instance', entry_point: 'worker-instance.ts#WorkerInstanceHandler', target_events: ['2000'] }],
    },
    FIXTURES,
  );
  try {
    await rt.runtime.host.emit('2000', {});
    await rt.runtime.host.emit('2000', {});
    const results = await waitFor(() => {
      const found = rt.from('instance').filter((e) => e.id === '20200');
      return found.length === 2 ? found : undefined;
    }, 'two results');
    assert.deepEqual(
      results.map((e) => e.message),
      ['constructed 1 time(s) in this worker', 'constructed 1 time(s) in this worker'],
    );
  } finally {
    await rt.close();
  }
});
