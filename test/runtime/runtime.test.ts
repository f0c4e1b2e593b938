// The runtime's shutdown order: plugins stop while the host still accepts
// events, then the host drains, then the other subsystems close.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { createRuntime } from '../../src/runtime/runtime.js';

test('a plugin whose stop() emits an event can do so while the runtime closes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-runtime-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'farewell.mjs'),
    `export const plugin = { name: 'farewell', version: '1', setup(ctx) {
      return { stop: async () => { globalThis.__farewell = await ctx.emit('bye'); } };
    } };`,
  );
  const runtime = await createRuntime({
    baseDir: dir,
    logger: silentLogger(),
    config: {
      events: [{ id: 'bye', name: 'bye' }],
      plugins: { folder: '.', active: ['farewell'] },
      store: { url: 'memory' },
    },
  });
  const seen: string[] = [];
  runtime.host.on('bye', (event) => {
    seen.push(event.id);
  });
  await runtime.close();
  const farewell = (globalThis as unknown as { __farewell?: { id: string } }).__farewell;
  assert.equal(farewell?.id, 'bye', 'the event emitted from stop() was accepted');
  assert.deepEqual(seen, ['bye'], 'and reached its subscriber before the host closed');
});

test('a config given as an object gets the same checks as a file: createRuntime and reload refuse a duplicate event id', async () => {
  const twice = { store: { url: 'memory' }, events: [{ id: '100', name: 'a' }, { id: '100', name: 'b' }] };
  await assert.rejects(createRuntime({ logger: silentLogger(), config: twice }), (err: { code: string; problems: Array<{ key: string; message: string }> }) => {
    assert.equal(err.code, 'HKW_ERR_CONFIG_INVALID');
    assert.ok(err.problems.some((p) => p.key === 'events.1.id' && /already declared/.test(p.message)), JSON.stringify(err.problems));
    return true;
  });
  const runtime = await createRuntime({ logger: silentLogger(), config: { store: { url: 'memory' } } });
  try {
    await assert.rejects(runtime.reload(twice), { code: 'HKW_ERR_CONFIG_INVALID' });
  } finally {
    await runtime.close();
  }
});
