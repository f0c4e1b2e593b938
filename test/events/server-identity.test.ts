import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createHost, silentLogger } from '../../src/index.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-identity-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the server uuid is generated once and kept across hosts on the same data folder', async (t) => {
  const dataDir = join(tempDir(t), 'data');
  const first = createHost({ logger: silentLogger(), dataDir, server: { name: 'one' } });
  const uuid = first.server.uuid;
  assert.match(uuid, /^[0-9a-f-]{36}$/);
  assert.ok(existsSync(dataDir), 'the data folder is created');
  const event = await first.emit('20200', { message: 'hi' });
  assert.equal(event.server.uuid, uuid);
  await first.close();

  const second = createHost({ logger: silentLogger(), dataDir, server: { name: 'one' } });
  t.after(() => second.close());
  assert.equal(second.server.uuid, uuid);
  assert.equal((await second.emit('20200', { message: 'again' })).server.uuid, uuid);
  assert.ok(readFileSync(join(dataDir, 'server-identity.json'), 'utf8').includes(uuid));
});

test('different data folders get different uuids; a configured uuid wins', async (t) => {
  const a = createHost({ logger: silentLogger(), dataDir: join(tempDir(t), 'a') });
  const b = createHost({ logger: silentLogger(), dataDir: join(tempDir(t), 'b') });
  const fixed = createHost({ logger: silentLogger(), dataDir: join(tempDir(t), 'c'), server: { uuid: 'configured', name: 'n' } });
  t.after(async () => {
    await a.close();
    await b.close();
    await fixed.close();
  });
  assert.notEqual(a.server.uuid, b.server.uuid);
  assert.equal(fixed.server.uuid, 'configured');
  assert.equal(fixed.server.name, 'n');
});
