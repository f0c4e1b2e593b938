import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { captureLogger, type LogLine } from '../helpers/capture-logger.js';
import { ActionHookFailedError, PermissionDeniedError, QuotaExceededError } from '../../src/errors.js';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import { createGateway } from '../../src/server/gateway.js';
import { action } from '../../src/actions/actions.js';
import { useReceiver } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { waitFor } from '../helpers/wait-for.js';

const hookScript = resolve(import.meta.dirname, '../../examples/hooks/sftpgo-hook.sh');
const fixture = (name: string): string => resolve(import.meta.dirname, '../fixtures', name);
const temp = mkdtempSync(join(tmpdir(), 'hookwork-actions-'));
const receiver = useReceiver();
after(async () => {
  rmSync(temp, { recursive: true, force: true });
});

test('pre gate: the SFTPGo hook script denies; the operation does not run; PermissionDeniedError reaches the caller', async (t) => {
  const log = join(temp, 'deny.log');
  const lines: LogLine[] = [];
  const runtime = await testRuntime(
    t,
    {
      actions: { options: { upload: {} } },
      handlers: [{ type: 'command', name: 'sftpgo', command: hookScript, preset: 'sftpgo', env: { HOOK_LOG: log }, actions: ['pre-upload'] }],
    },
    captureLogger(lines),
  );
  let ran = false;
  let denied: unknown;
  await assert.rejects(
    action(runtime, 'upload', { data: { path: '/srv/forbidden/x.txt', username: 'bob', protocol: 'SFTP' } }, () => {
      ran = true;
    }),
    (err: unknown) => {
      denied = err;
      return err instanceof PermissionDeniedError;
    },
  );
  // As SFTPGo answers: "permission denied", naming the handler, not the script's path or what it printed.
  const message = (denied as Error).message;
  assert.match(message, /permission denied by handler:sftpgo/);
  assert.ok(!message.includes(hookScript) && !message.includes('/srv/forbidden'), `no path in ${JSON.stringify(message)}`);
  // The detail is in the log.
  const detail = lines.find((l) => l.obj['gate'] === 'pre-upload' && l.obj['target'] === 'handler:sftpgo');
  assert.match(String(detail?.obj['error']), new RegExp(hookScript.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal(ran, false);
  assert.match(readFileSync(log, 'utf8'), /SFTPGO_ACTION=pre-upload\nSFTPGO_ACTION_USERNAME=bob\nSFTPGO_ACTION_PATH=\/srv\/forbidden\/x.txt/);
  // Exit 0 allows.
  const ok = await runtime.services.actions!.run('upload', { data: { path: '/srv/in/x.txt' } }, () => 'stored');
  assert.deepEqual([ok.outcome, ok.value], ['done', 'stored']);
});

test('pre gate: a webhook handler on pre-upload: 200 allows, 403 denies with PermissionDeniedError', async (t) => {
  const runtime = await testRuntime(t, {
    ssrf: { allow: ['127.0.0.1/32'] },
    actions: { options: { upload: {} } },
    handlers: [{ type: 'webhook', name: 'policy', url: `${receiver.url}/policy/{{account.name}}`, actions: ['pre-upload'] }],
  });
  const stored: string[] = [];
  const allowed = await action(runtime, 'upload', { data: { path: '/in/ok.txt' }, account: { name: 'alice' } }, () => {
    stored.push('/in/ok.txt');
    return 'stored';
  });
  assert.deepEqual([allowed.outcome, allowed.value], ['done', 'stored']);
  assert.equal(receiver.requests.length, 1, 'the gate asked the webhook before the operation');
  const asked = receiver.requests[0];
  assert.equal(asked?.method, 'POST');
  assert.equal(asked?.url, '/policy/alice');
  const body = JSON.parse(asked?.body ?? '{}') as { id: string; data: { path: string; action: string } };
  assert.deepEqual([body.id, body.data.path, body.data.action], ['pre-upload', '/in/ok.txt', 'pre-upload']);

  receiver.respond((_r, res) => res.writeHead(403).end('no uploads for you'));
  await assert.rejects(
    action(runtime, 'upload', { data: { path: '/in/no.txt' }, account: { name: 'mallory' } }, () => {
      stored.push('/in/no.txt');
    }),
    (err: unknown) =>
      err instanceof PermissionDeniedError && err.code === 'HKW_ERR_PERMISSION_DENIED' && err.message.includes('permission denied by handler:policy') && !err.message.includes(receiver.url),
  );
  assert.deepEqual(stored, ['/in/ok.txt'], 'the denied upload did not run');
  assert.equal(receiver.requests.length, 2);
});

test('pre-delete handled (SFTPGo): the delete and its post hook are skipped', async (t) => {
  const runtime = await testRuntime(t, {
    actions: { options: { delete: {} } },
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [
      { type: 'command', name: 'mover', command: fixture('fail.sh'), args: ['0'], preset: 'sftpgo', actions: ['pre-delete'] },
      { type: 'webhook', name: 'post', url: `${receiver.url}/deleted`, actions: ['delete'], sync: true },
    ],
  });
  let deleted = false;
  const result = await action(runtime, 'delete', { data: { path: '/a' } }, () => {
    deleted = true;
  });
  assert.equal(result.outcome, 'handled');
  assert.equal(deleted, false);
  assert.equal(receiver.requests.length, 0);
});

test('post event carries status and elapsed time; async post hooks go through the delivery queue', async (t) => {
  const runtime = await testRuntime(t, {
    ssrf: { allow: ['127.0.0.1/32'] },
    actions: { options: { upload: {} } },
    handlers: [{ type: 'webhook', name: 'notify', url: `${receiver.url}/uploaded`, actions: ['upload'] }],
  });
  const seen: Array<Record<string, unknown>> = [];
  runtime.host.on('upload', (event) => {
    seen.push({ ...event.data });
  });
  await action(runtime, 'upload', { data: { path: '/ok' }, account: { name: 'alice' } }, () => undefined);
  await assert.rejects(
    action(runtime, 'upload', { data: { path: '/full' } }, () => {
      throw new QuotaExceededError();
    }),
    QuotaExceededError,
  );
  await assert.rejects(
    action(runtime, 'upload', { data: { path: '/err' } }, () => {
      throw new Error('disk on fire');
    }),
    /disk on fire/,
  );
  await runtime.host.idle();
  assert.deepEqual(seen.map((d) => [d['path'], d['status'], d['status_text'], d['action']]), [
    ['/ok', 1, 'ok', 'upload'],
    ['/full', 2, 'quota_exceeded', 'upload'],
    ['/err', 0, 'error', 'upload'],
  ]);
  assert.equal(typeof seen[0]?.['elapsed_ms'], 'number');
  assert.equal(seen[2]?.['error'], 'disk on fire');
  const requests = await receiver.waitFor(3);
  const bodies = requests.map((r) => JSON.parse(r.body) as { data: { path: string }; account: { name: string } });
  assert.deepEqual(bodies.map((b) => b.data.path).sort(), ['/err', '/full', '/ok']);
});

test('execute_sync: a failing post hook reaches the caller after undo ran (SFTPGo deletes the rejected upload)', async (t) => {
  const runtime = await testRuntime(t, {
    ssrf: { allow: ['127.0.0.1/32'] },
    actions: { execute_sync: ['upload'] },
    handlers: [{ type: 'webhook', name: 'scan', url: `${receiver.url}/scan`, actions: ['upload'], success_status: [200] }],
  });
  const file = join(temp, 'upload.bin');
  writeFileSync(file, 'data');
  receiver.respond((_r, res) => res.writeHead(422).end('virus found'));
  const hookFailed: Array<Record<string, unknown>> = [];
  runtime.host.on(ENGINE_EVENTS.actionSyncHookFailed, (e) => void hookFailed.push({ ...e.data }));
  let undone: ActionHookFailedError | undefined;
  await assert.rejects(
    action(runtime, 'upload', { data: { path: file } }, () => 'written', {
      undo: (error) => {
        undone = error;
        rmSync(file);
      },
    }),
    (err: unknown) => err instanceof ActionHookFailedError && /422/.test(err.message),
  );
  assert.ok(undone instanceof ActionHookFailedError);
  assert.equal(existsSync(file), false);
  assert.equal(receiver.requests.length, 1, 'the hook ran before action() returned');
  // The failure is also an event: 20511 action-hook-failed, naming the action and the upload event.
  await runtime.host.idle();
  assert.equal(hookFailed.length, 1);
  assert.equal(hookFailed[0]?.['action'], 'upload');
  assert.match(String(hookFailed[0]?.['error']), /422/);
  assert.equal(typeof hookFailed[0]?.['event_uuid'], 'string');
  receiver.respond((_r, res) => res.writeHead(200).end('clean'));
  const ok = await action(runtime, 'upload', { data: { path: file } }, () => 'written');
  assert.equal(ok.outcome, 'done');
  assert.equal(receiver.requests.length, 2);
  await runtime.host.idle();
  assert.equal(hookFailed.length, 1, 'no 20511 when the sync hook succeeds');
});

test('gateway: POST /v1/actions/:name/pre and /post', async (t) => {
  const runtime = await testRuntime(t, {
    ssrf: { allow: ['127.0.0.1/32'] },
    actions: { execute_sync: ['upload'] },
    handlers: [
      { type: 'command', name: 'gate', command: hookScript, preset: 'sftpgo', env: { HOOK_LOG: join(temp, 'gw.log') }, actions: ['pre-upload'] },
      { type: 'webhook', name: 'post', url: `${receiver.url}/post`, actions: ['upload'] },
    ],
  });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  t.after(() => gateway.close());
  const base = await gateway.listen();
  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const allowed = await post('/v1/actions/upload/pre', { data: { path: '/in/a' }, account: { name: 'bob' } });
  assert.equal(allowed.status, 200);
  assert.deepEqual(await allowed.json(), { verdict: 'allow' });
  const denied = await post('/v1/actions/upload/pre', { data: { path: '/x/forbidden/a' } });
  assert.equal(denied.status, 403);
  assert.equal(((await denied.json()) as { code: string }).code, 'HKW_ERR_PERMISSION_DENIED');
  const done = await post('/v1/actions/upload/post', { data: { path: '/in/a' }, status: 1, elapsed_ms: 12 });
  assert.equal(done.status, 200);
  assert.equal(receiver.requests.length, 1);
  assert.equal((JSON.parse(receiver.requests[0]?.body ?? '{}') as { data: { elapsed_ms: number } }).data.elapsed_ms, 12);
  receiver.respond((_r, res) => res.writeHead(500).end());
  const failed = await post('/v1/actions/upload/post', { data: { path: '/in/b' } });
  assert.equal(failed.status, 502);
  assert.equal(((await failed.json()) as { code: string }).code, 'HKW_ERR_ACTION_HOOK_FAILED');
  const bad = await post('/v1/actions/upload/post', { status: 'sideways' });
  assert.equal(bad.status, 400);
});

test('action() on a bare host: gates and the event, no targets', async () => {
  const { createHost, deny, silentLogger } = await import('../../src/index.js');
  const host = createHost({ logger: silentLogger() });
  host.onGate('pre-rename', (ctx: unknown) => ((ctx as { data: { path: string } }).data.path === '/no' ? deny('nope') : undefined));
  await assert.rejects(action(host, 'rename', { data: { path: '/no' } }, () => 1), PermissionDeniedError);
  const events: string[] = [];
  host.on('rename', (e) => void events.push(String(e.data['status_text'])));
  const result = await action(host, 'rename', { data: { path: '/yes' } }, () => 2);
  assert.equal(result.value, 2);
  await host.idle();
  assert.deepEqual(events, ['ok']);
  await host.close();
  await waitFor(() => true);
});
