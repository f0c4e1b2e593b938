// The runtime's shutdown order: plugins stop while the host still accepts
// events, then the host drains, then the other subsystems close.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime.js';

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
