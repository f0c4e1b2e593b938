// `hookwork deliveries …` against a SQLite store file, as an operator runs it.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runList, runRetry, runShow, type CliIo } from '../../src/cli/commands/deliveries.js';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';

const SECRET = 'tok-SECRET-cli-0123456789';

function capture(): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => void lines.push(l), err: (l) => void lines.push(l), progress: undefined };
}

async function setUp(): Promise<{ config: string; granted: string; busy: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-cli-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ log_level: 'silent', server: { data_dir: dataDir }, store: { url: 'sqlite:hookwork.db' } }));
  const store = new SqliteStore({ file: join(dataDir, 'hookwork.db') });
  await store.migrate();
  const now = Date.now();
  const event = { id: '100', account: { uuid: 'u1', name: 'alice', token: SECRET }, data: { path: '/a' } };
  await store.enqueue([
    { id: 'dlv_granted', target: 'handler:granted', event, webhookId: 'msg_1', dueAt: now + 3_600_000, createdAt: now },
    // Claimed by a gateway node: being attempted right now.
    { id: 'dlv_busy', target: 'handler:slow', event: { id: '1' }, webhookId: 'msg_2', dueAt: now, createdAt: now + 1, claim: { nodeId: 'node-a', leaseUntil: now + 60_000 } },
  ]);
  await store.close();
  return { config, granted: 'dlv_granted', busy: 'dlv_busy', cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('hookwork deliveries show/list print a granted account.token as "[redacted]"; the file keeps it', async () => {
  const s = await setUp();
  try {
    for (const json of [false, true]) {
      const show = capture();
      assert.equal(await runShow(s.granted, { config: s.config, json }, show), 0);
      const text = show.lines.join('\n');
      assert.equal(text.includes(SECRET), false, `show${json ? ' --json' : ''} hides the token`);
      assert.match(text, /\[redacted\]/);
      assert.match(text, /alice/);
      const list = capture();
      assert.equal(await runList({ config: s.config, json: true }, list), 0);
      assert.equal(list.lines.join('\n').includes(SECRET), false, 'list --json hides the token');
    }
    const store = new SqliteStore({ file: join(s.config, '..', 'data', 'hookwork.db') });
    try {
      await store.migrate();
      assert.equal(((await store.get(s.granted))?.delivery.event['account'] as { token?: string }).token, SECRET);
    } finally {
      await store.close();
    }
  } finally {
    s.cleanup();
  }
});

test('hookwork deliveries retry refuses a delivery in flight with the reason, and retries one that is not', async () => {
  const s = await setUp();
  try {
    const io = capture();
    await assert.rejects(runRetry(s.busy, { config: s.config }, io), { code: 'HKW_ERR_DELIVERY_INFLIGHT', message: /is in flight: a node is attempting it right now/ });
    assert.deepEqual(io.lines, [], 'no "inflight again" claim');
    const ok = capture();
    assert.equal(await runRetry(s.granted, { config: s.config }, ok), 0);
    assert.deepEqual(ok.lines, ['dlv_granted is pending again, due now (fresh retry schedule).']);
    await assert.rejects(runRetry('dlv_nope', { config: s.config }, capture()), { code: 'HKW_ERR_DELIVERY_NOT_FOUND' });
  } finally {
    s.cleanup();
  }
});
