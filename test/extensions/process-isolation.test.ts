// isolation: process for JavaScript handlers: handle() in a Node child
// process under the permission model. Reading /etc/passwd, writing outside
// write_paths and spawning a process are refused by Node (ERR_ACCESS_DENIED)
// and become the event's 20174; read_paths and write_paths work; a process
// that exits is replaced and the next event handled (a pool of one process,
// so the next event proves the replacement); getConfiguration stays in the
// engine's process.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { waitFor } from '../helpers/wait-for.js';
import { startRuntime, type TestRuntime } from './helpers.js';

const FOLDER = fileURLToPath(new URL('./fixtures/isolated/', import.meta.url));
const LIMIT_MS = 60_000;

let rt: TestRuntime;
let scratch: string;
let readable: string;
let writable: string;
let outside: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'hookwork-iso-'));
  readable = join(scratch, 'granted-read');
  writable = join(scratch, 'granted-write');
  outside = join(scratch, 'outside');
  for (const dir of [readable, writable, outside]) mkdirSync(dir);
  writeFileSync(join(readable, 'note.txt'), 'granted content');
  writeFileSync(join(outside, 'secret.txt'), 'not yours');
  rt = await startRuntime(
    {
      events: [{ id: '100', name: 'work' }],
      extensions: { folder: FOLDER, pool: { size: 1 } },
      handlers: [
        {
          type: 'extension',
          name: 'iso',
          entry_point: 'isolated_handler.mjs#IsolatedHandler',
          isolation: 'process',
          read_paths: [readable],
          write_paths: [writable],
          fail_after_errors: 0,
        },
      ],
    },
    FOLDER,
  );
});

after(async () => {
  await rt.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function send(account: string, path = ''): Promise<HookworkEvent> {
  return rt.runtime.host.emit('100', { account: { name: account, uuid: `uuid-${account}` }, data: { path } });
}

async function resultOf(event: HookworkEvent): Promise<HookworkEvent> {
  return waitFor(() => rt.from('iso').find((e) => e.id !== ENGINE_EVENTS.handlerFailed && e.account.uuid === event.account.uuid && e.timestamp.timestamp >= event.timestamp.timestamp), {
    what: `the result of "${event.account.name}"`,
    timeoutMs: LIMIT_MS,
  });
}

async function failureOf(event: HookworkEvent): Promise<HookworkEvent> {
  return waitFor(() => rt.events.find((e) => e.id === ENGINE_EVENTS.handlerFailed && e.data['event_uuid'] === event.uuid), {
    what: `the failure event for "${event.account.name}"`,
    timeoutMs: LIMIT_MS,
  });
}

describe('isolation: process (JavaScript handlers under the permission model)', () => {
  test('a process-isolated handler handles an event in another process; getConfiguration runs in the engine', async () => {
    assert.equal(rt.runtime.services.extensions?.get('iso')?.state, 'started', JSON.stringify(rt.runtime.services.extensions?.get('iso')?.lastError));
    const result = await resultOf(await send('ok'));
    assert.equal(result.message, 'handled');
    assert.equal(result.data['configuration'], `main:${process.pid}`);
    assert.equal(typeof result.data['pid'], 'number');
    assert.notEqual(result.data['pid'], process.pid);
  });

  test('reading /etc/passwd is refused by Node: 20174 with ERR_ACCESS_DENIED', async () => {
    const failure = await failureOf(await send('passwd'));
    assert.equal(failure.data['stage'], 'handle');
    assert.equal(failure.data['error_code'], 'ERR_ACCESS_DENIED');
    assert.match(String(failure.data['error']), /FileSystemRead: \/etc\/passwd/);
    assert.match(String(failure.data['stack']), /isolated_handler\.mjs/);
  });

  test('reading outside the grants is refused; a granted read path works', async () => {
    const refused = await failureOf(await send('read', join(outside, 'secret.txt')));
    assert.equal(refused.data['error_code'], 'ERR_ACCESS_DENIED');
    const granted = await resultOf(await send('read', join(readable, 'note.txt')));
    assert.equal(granted.message, 'read: granted content');
  });

  test('writing outside write_paths is refused (the extensions folder included); a granted write path works', async () => {
    const target = join(outside, 'written.txt');
    const refused = await failureOf(await send('write', target));
    assert.equal(refused.data['error_code'], 'ERR_ACCESS_DENIED');
    assert.match(String(refused.data['error']), /FileSystemWrite/);
    assert.equal(existsSync(target), false);
    const inFolder = join(FOLDER, 'written.txt');
    assert.equal((await failureOf(await send('write', inFolder))).data['error_code'], 'ERR_ACCESS_DENIED');
    assert.equal(existsSync(inFolder), false);
    const allowed = join(writable, 'written.txt');
    assert.equal((await resultOf(await send('write', allowed))).message, 'wrote');
    assert.equal(readFileSync(allowed, 'utf8'), 'written');
  });

  test('spawning a process is refused: 20174 with ERR_ACCESS_DENIED', async () => {
    const failure = await failureOf(await send('spawn'));
    assert.equal(failure.data['error_code'], 'ERR_ACCESS_DENIED');
    assert.match(String(failure.data['error']), /ChildProcess/);
  });

  test('a process that exits (process.exit) is replaced and the next event is handled', async () => {
    const failure = await failureOf(await send('exit'));
    assert.equal(failure.data['error_code'], 'HKW_ERR_EXTENSION_WORKER_CRASH');
    assert.match(String(failure.data['error']), /worker exited with code: 9/);
    const next = await resultOf(await send('ok'));
    assert.equal(next.message, 'handled');
    assert.equal(rt.runtime.services.extensions?.get('iso')?.state, 'started');
  });
});

describe('isolation: process entry points', () => {
  test('a TypeScript handler with isolation: process fails to start, saying why and what to do', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'hookwork-iso-ts-'));
    writeFileSync(join(folder, 'typed.ts'), 'export class Typed { static handle(): string { return "x"; } }\n');
    const local = await startRuntime(
      { events: [{ id: '100', name: 'work' }], extensions: { folder, pool: { size: 1 } }, handlers: [{ type: 'extension', name: 'typed', entry_point: 'typed.ts#Typed', isolation: 'process' }] },
      folder,
    );
    try {
      const info = local.runtime.services.extensions?.get('typed');
      assert.equal(info?.state, 'failed');
      assert.match(info?.lastError?.message ?? '', /is TypeScript, and isolation: process runs JavaScript only[\s\S]*compile it to \.js or \.mjs/);
    } finally {
      await local.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
