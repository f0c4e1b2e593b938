// `hookwork deliveries …` against a SQLite store file, as an operator runs it.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progressBar, runDepth, runDisable, runEnable, runList, runReplay, runRetry, runShow, type CliIo } from '../../src/cli/commands/deliveries.js';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import type { StoredDeliveryInput } from '../../src/delivery/store.js';
import type { DeliveryRecord, DeliveryState } from '../../src/delivery/types.js';

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

// ---- list filters and replay progress -------------------------------------

type Finished = 'pending' | 'inflight' | 'done' | 'failed';

/** A config file naming a fresh SQLite store, and the store opened on it (close it before running the CLI). */
async function storeDir(delivery: Record<string, unknown> = {}): Promise<{ config: string; store: SqliteStore; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-cli-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ log_level: 'silent', server: { data_dir: dataDir }, store: { url: 'sqlite:hookwork.db' }, delivery }));
  const store = new SqliteStore({ file: join(dataDir, 'hookwork.db') });
  await store.migrate();
  return { config, store, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes one delivery in `state` through the store API (claimed at enqueue, then settled for done/failed). */
async function put(store: SqliteStore, id: string, target: string, state: Finished, createdAt: number): Promise<void> {
  const row: StoredDeliveryInput = { id, target, event: { id: '1', data: { id } }, webhookId: `msg_${id}`, dueAt: createdAt, createdAt };
  if (state === 'pending') return store.enqueue([row]);
  await store.enqueue([{ ...row, claim: { nodeId: 'node-x', leaseUntil: Date.now() + 3_600_000 } }]);
  if (state === 'inflight') return;
  const applied = await store.settle([
    {
      deliveryId: id,
      nodeId: 'node-x',
      attempt: 1,
      record: { deliveryId: id, attempt: 1, startedAt: createdAt + 1, durationMs: 1, ok: state === 'done', ...(state === 'done' ? {} : { error: 'HTTP 500' }) },
      outcome: state === 'done' ? { state: 'done' } : { state: 'failed', error: 'HTTP 500' },
    },
  ]);
  assert.equal(applied, 1);
}

const STATES: readonly Finished[] = ['pending', 'inflight', 'done', 'failed'];
const TARGETS = ['handler:a', 'handler:b'] as const;

/** Two deliveries per (target, state): ids like `dlv_a_done_1`. */
async function setUpStates(): Promise<{ config: string; cleanup: () => void }> {
  const s = await storeDir();
  const now = Date.now();
  let n = 0;
  for (const target of TARGETS) {
    for (const state of STATES) {
      for (const k of [1, 2]) await put(s.store, `dlv_${target.slice(-1)}_${state}_${k}`, target, state, now - 100_000 + n++);
    }
  }
  await s.store.close();
  return { config: s.config, cleanup: s.cleanup };
}

function expectedIds(state: Finished | undefined, target: string | undefined): string[] {
  const ids: string[] = [];
  for (const t of TARGETS) {
    if (target !== undefined && t !== target) continue;
    for (const st of STATES) {
      if (state !== undefined && st !== state) continue;
      for (const k of [1, 2]) ids.push(`dlv_${t.slice(-1)}_${st}_${k}`);
    }
  }
  return ids.reverse(); // written in this order, one ms apart: newest first
}

test('hookwork deliveries list --state/--target: every filter combination lists exactly its deliveries, newest first (--json and text)', async () => {
  const s = await setUpStates();
  try {
    for (const state of [undefined, ...STATES]) {
      for (const target of [undefined, ...TARGETS, 'handler:none']) {
        const what = `--state ${state ?? '(any)'} --target ${target ?? '(any)'}`;
        const want = target === 'handler:none' ? [] : expectedIds(state, target);
        const filters = { ...(state === undefined ? {} : { state }), ...(target === undefined ? {} : { target }) };

        const json = capture();
        assert.equal(await runList({ config: s.config, json: true, ...filters }, json), 0);
        assert.equal(json.lines.length, 1, 'one JSON document');
        const list = JSON.parse(json.lines[0] as string) as DeliveryRecord[];
        assert.deepEqual(list.map((d) => d.id), want, what);
        for (const d of list) {
          if (state !== undefined) assert.equal(d.state, state, what);
          if (target !== undefined) assert.equal(d.target, target, what);
        }

        const text = capture();
        assert.equal(await runList({ config: s.config, ...filters }, text), 0);
        if (want.length === 0) assert.deepEqual(text.lines, ['No deliveries.'], what);
        else {
          assert.deepEqual(text.lines.map((l) => l.split(/\s+/)[0]), want, what);
          for (const l of text.lines) {
            const [, st, tg] = l.split(/\s+/);
            if (state !== undefined) assert.equal(st, state, what);
            if (target !== undefined) assert.equal(tg, target, what);
          }
        }
      }
    }
    // --limit cuts the newest first.
    const limited = capture();
    assert.equal(await runList({ config: s.config, json: true, target: 'handler:b', limit: 3 }, limited), 0);
    assert.deepEqual((JSON.parse(limited.lines[0] as string) as DeliveryRecord[]).map((d) => d.id), expectedIds(undefined, 'handler:b').slice(0, 3));
  } finally {
    s.cleanup();
  }
});

const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function hookwork(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, ['--import', TSX, MAIN, ...args], { env: { ...process.env, HOOKWORK_LOG_LEVEL: 'silent' }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolvePromise({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

test('hookwork deliveries list: the command line passes --state, --target and --json through, and refuses an unknown state', async () => {
  const s = await setUpStates();
  try {
    const run = await hookwork(['deliveries', '--config', s.config, 'list', '--state', 'failed', '--target', 'handler:b', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as DeliveryRecord[]).map((d) => d.id), ['dlv_b_failed_2', 'dlv_b_failed_1']);
    const bad = await hookwork(['deliveries', '--config', s.config, 'list', '--state', 'lost']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--state must be one of pending, inflight, done, failed/);
  } finally {
    s.cleanup();
  }
});

/** A stand-in for a terminal's WriteStream: collects what is written. */
function fakeTty(isTTY: boolean): NodeJS.WriteStream & { writes: string[] } {
  const writes: string[] = [];
  return {
    isTTY,
    writes,
    write(chunk: string | Uint8Array): boolean {
      writes.push(String(chunk));
      return true;
    },
  } as unknown as NodeJS.WriteStream & { writes: string[] };
}

/** 7 failed deliveries to handler:a since SINCE, and ones replay must not touch. */
async function setUpReplay(): Promise<{ config: string; since: string; file: string; cleanup: () => void }> {
  // Small batches (replay uses delivery.retention.batch): 7 rows go in batches of 3, 3, 1.
  const s = await storeDir({ retention: { batch: 3 } });
  const now = Date.now();
  const since = now - 60_000;
  for (let i = 1; i <= 7; i++) await put(s.store, `dlv_r${i}`, 'handler:a', 'failed', since + i);
  await put(s.store, 'dlv_old', 'handler:a', 'failed', since - 1); // created before --since
  await put(s.store, 'dlv_done', 'handler:a', 'done', since + 100); // done: not without --include-done
  await put(s.store, 'dlv_other', 'handler:b', 'failed', since + 100); // another target
  await s.store.close();
  return { config: s.config, since: new Date(since).toISOString(), file: s.store.file, cleanup: s.cleanup };
}

async function statesOf(file: string): Promise<Record<string, DeliveryState>> {
  const store = new SqliteStore({ file });
  try {
    await store.migrate();
    return Object.fromEntries((await store.list({ limit: 1000 })).map((d) => [d.id, d.state]));
  } finally {
    await store.close();
  }
}

function assertReplayed(states: Record<string, DeliveryState>): void {
  for (let i = 1; i <= 7; i++) assert.equal(states[`dlv_r${i}`], 'pending', `dlv_r${i} replayed`);
  assert.equal(states['dlv_old'], 'failed');
  assert.equal(states['dlv_done'], 'done');
  assert.equal(states['dlv_other'], 'failed');
}

test('hookwork deliveries replay --target --since: on a terminal, a bar redrawn per batch with done/total, ending at 100% and the total', async () => {
  const s = await setUpReplay();
  try {
    const tty = fakeTty(true);
    const io = { ...capture(), progress: tty };
    assert.equal(await runReplay({ config: s.config, target: 'handler:a', since: s.since }, io), 0);
    const bar = /^\r\[(#*)(-*)\] (\d+)% (\d+)\/(\d+)(\n?)$/;
    const draws = tty.writes.map((w) => {
      const m = bar.exec(w);
      assert.ok(m, `a bar: ${JSON.stringify(w)}`);
      assert.equal((m[1] as string).length + (m[2] as string).length, 30, 'a 30-wide bar');
      return { filled: (m[1] as string).length, pct: Number(m[3]), done: Number(m[4]), total: Number(m[5]), newline: m[6] === '\n' };
    });
    assert.deepEqual(draws.map((d) => `${d.done}/${d.total}`), ['0/7', '3/7', '6/7', '7/7'], 'one draw before the first batch and one after each');
    assert.deepEqual(draws.map((d) => d.pct), [0, 43, 86, 100]);
    assert.deepEqual(draws.map((d) => d.filled), [0, 13, 26, 30]);
    assert.deepEqual(draws.map((d) => d.newline), [false, false, false, true], 'only the last draw ends the line');
    assert.equal(tty.writes.at(-1), `\r[${'#'.repeat(30)}] 100% 7/7\n`);
    // No plain progress lines on a terminal: only the summary.
    assert.deepEqual(io.lines, [`Replayed 7 deliveries to "handler:a" created since ${s.since}.`]);
    assertReplayed(await statesOf(s.file));
  } finally {
    s.cleanup();
  }
});

test('hookwork deliveries replay --since --until: only deliveries created in the window', async () => {
  const s = await setUpReplay();
  try {
    const io = capture();
    // dlv_r1..r7 were created at since + 1..7: until since + 4 takes r1..r3.
    const until = new Date(Date.parse(s.since) + 4).toISOString();
    assert.equal(await runReplay({ config: s.config, target: 'handler:a', since: s.since, until }, io), 0);
    assert.equal(io.lines.at(-1), `Replayed 3 deliveries to "handler:a" created since ${s.since} and before ${until}.`);
    const states = await statesOf(s.file);
    for (let i = 1; i <= 7; i++) assert.equal(states[`dlv_r${i}`], i <= 3 ? 'pending' : 'failed', `dlv_r${i}`);
    assert.equal(states['dlv_old'], 'failed');
    // until before since is refused, naming both.
    await assert.rejects(runReplay({ config: s.config, target: 'handler:a', since: s.since, until: s.since }, capture()), /until.*after "since"/);
  } finally {
    s.cleanup();
  }
});

test('hookwork deliveries replay --target --since: not a terminal (or no stream), plain "replayed done/total" lines, no bar', async () => {
  for (const progress of [fakeTty(false), undefined]) {
    const s = await setUpReplay();
    try {
      const io = { ...capture(), progress };
      assert.equal(await runReplay({ config: s.config, target: 'handler:a', since: s.since }, io), 0);
      assert.deepEqual(io.lines, [
        'replayed 0/7',
        'replayed 3/7',
        'replayed 6/7',
        'replayed 7/7',
        `Replayed 7 deliveries to "handler:a" created since ${s.since}.`,
      ]);
      assert.deepEqual(progress?.writes ?? [], [], 'nothing drawn on a non-terminal stream');
      assertReplayed(await statesOf(s.file));
    } finally {
      s.cleanup();
    }
  }
});

test('progressBar: nothing to replay draws a full bar at 0/0 on a terminal and "replayed 0/0" otherwise', () => {
  const tty = fakeTty(true);
  const lines: string[] = [];
  progressBar(tty, (l) => void lines.push(l))(0, 0);
  assert.deepEqual(tty.writes, [`\r[${'#'.repeat(30)}] 100% 0/0\n`]);
  assert.equal(lines.length, 0, 'no plain lines on a terminal');
  progressBar(fakeTty(false), (l) => void lines.push(l))(0, 0);
  progressBar(undefined, (l) => void lines.push(l))(2, 5);
  assert.deepEqual(lines, ['replayed 0/0', 'replayed 2/5']);
});

test('hookwork deliveries disable stops a known target (depth shows it with the reason) until enable; an unknown name is refused', async () => {
  const s = await setUp();
  try {
    const off = capture();
    assert.equal(await runDisable('handler:granted', { config: s.config, reason: 'receiver down for maintenance' }, off), 0);
    assert.match(off.lines.join('\n'), /Target "handler:granted" disabled/);
    const depth = capture();
    assert.equal(await runDepth({ config: s.config, json: true }, depth), 0);
    const rows = JSON.parse(depth.lines.join('\n')) as Array<{ target: string; disabled?: { reason: string } }>;
    assert.equal(rows.find((r) => r.target === 'handler:granted')?.disabled?.reason, 'receiver down for maintenance');
    const unknown = capture();
    assert.equal(await runDisable('handler:nobody', { config: s.config }, unknown), 1);
    assert.match(unknown.lines.join('\n'), /no target named "handler:nobody"/);
    const on = capture();
    assert.equal(await runEnable('handler:granted', { config: s.config }, on), 0);
    assert.match(on.lines.join('\n'), /enabled/);
    const after = capture();
    await runDepth({ config: s.config, json: true }, after);
    assert.equal((JSON.parse(after.lines.join('\n')) as Array<{ target: string; disabled?: unknown }>).find((r) => r.target === 'handler:granted')?.disabled, undefined);
  } finally {
    s.cleanup();
  }
});
