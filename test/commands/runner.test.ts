import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { CommandTarget, type CommandReport } from '../../src/commands/runner.js';
import { handlerTargetName } from '../../src/handlers/generation.js';
import { SFTPGO_ENV_NAMES } from '../../src/commands/sftpgo-preset.js';
import { attemptContext } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { waitFor } from '../helpers/wait-for.js';

const fixtures = resolve(import.meta.dirname, '../fixtures');
const fixture = (name: string): string => join(fixtures, name);
const temp = mkdtempSync(join(tmpdir(), 'hookwork-cmd-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const event = Object.freeze({
  id: '100',
  uuid: 'e-1',
  name: 'upload',
  message: 'uploaded',
  account: { uuid: 'u-1', name: 'alice', peer: { address: '10.0.0.1', port: 22, protocol: 'TCP', family: 'IPv4' } },
  data: { path: '/home/alice/in/report.csv', size: 42 },
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function lines(stdout: string | undefined, prefix: string): string[] {
  return (stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

test('the command path must be absolute', () => {
  assert.throws(() => new CommandTarget({ name: 'rel', command: 'echo' }), /not an absolute path/);
});

test('never a shell: an argument with "; rm -rf /" reaches the program as one literal argument', async () => {
  const target = new CommandTarget({
    name: 'argv',
    command: fixture('echo-argv.sh'),
    args: ['{{data.path}}', '{{data.evil}}', '$(id)', '`whoami`', 'a b  c', '*'],
  });
  const evil = { ...event, data: { ...event.data, evil: 'x; rm -rf / #' } };
  const result = await target.run(evil, attemptContext());
  assert.equal(result.ok, true, result.error);
  assert.deepEqual(lines(result.response, 'arg:'), ['/home/alice/in/report.csv', 'x; rm -rf / #', '$(id)', '`whoami`', 'a b  c', '*']);
});

test('the environment is cleared except PATH, the passthrough names, the configured variables and HOOKWORK_RUN_ID (the run marker)', async () => {
  process.env['HOOKWORK_TEST_PASS'] = 'passed';
  process.env['HOOKWORK_TEST_SECRET'] = 'must-not-leak';
  const target = new CommandTarget({
    name: 'env',
    command: fixture('echo-argv.sh'),
    env: { FILE: '{{data.path}}', WHO: 'user {{account.name}}' },
    envPassthrough: ['HOOKWORK_TEST_PASS', 'HOOKWORK_TEST_UNSET'],
  });
  const result = await target.run(event, attemptContext());
  const names = lines(result.response, 'env:').filter((n) => n !== 'PWD' && n !== 'SHLVL' && n !== '_' && n !== 'OLDPWD');
  assert.deepEqual(names, ['FILE', 'HOOKWORK_RUN_ID', 'HOOKWORK_TEST_PASS', 'PATH', 'WHO']);
  const prepared = target.prepare(event, attemptContext());
  assert.equal(prepared.env['WHO'], 'user alice');
  assert.equal(prepared.env['HOOKWORK_TEST_PASS'], 'passed');
  assert.equal(prepared.env['HOOKWORK_TEST_SECRET'], undefined);
});

test('exit 0 is success; another exit fails with the head of stderr; EX_TEMPFAIL (75) is retryable', async () => {
  const failing = new CommandTarget({ name: 'fail', command: fixture('fail.sh'), args: ['3'] });
  const result = await failing.run(event, attemptContext());
  assert.deepEqual([result.ok, result.exitCode, result.retryable], [false, 3, false]);
  assert.match(result.error ?? '', /exited with 3: something went wrong/);
  assert.equal(result.response, 'partial output\n');
  const temp75 = await new CommandTarget({ name: 'tempfail', command: fixture('fail.sh'), args: ['75'] }).run(event, attemptContext());
  assert.equal(temp75.retryable, true);
  const missing = await new CommandTarget({ name: 'missing', command: '/nonexistent/program' }).run(event, attemptContext());
  assert.equal(missing.ok, false);
  assert.match(missing.error ?? '', /could not start/);
});

test('a timeout stops the whole process group (the program and what it started)', async () => {
  const pidFile = join(temp, 'child.pid');
  const target = new CommandTarget({ name: 'slow', command: fixture('spawn-and-wait.sh'), args: [pidFile], timeoutMs: 300 });
  const result = await target.run(event, attemptContext());
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error ?? '', /did not finish within 300 ms/);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { what: 'the background sleep to be gone', timeoutMs: 5000 });
});

test('a timeout also stops a grandchild that left the process group with setsid (Linux: found by its HOOKWORK_RUN_ID)', { skip: process.platform !== 'linux' }, async (t) => {
  const pidFile = join(temp, 'setsid.pid');
  let pid: number | undefined;
  t.after(() => {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const target = new CommandTarget({ name: 'escaper', command: fixture('setsid-and-wait.sh'), args: [pidFile], timeoutMs: 1000 });
  const result = await target.run(event, attemptContext());
  assert.match(result.error ?? '', /did not finish within 1000 ms/);
  pid = Number(readFileSync(pidFile, 'utf8'));
  // It really left: its session is its own, not the command's group.
  const stat = (p: number): string[] => readFileSync(`/proc/${p}/stat`, 'latin1').split(') ')[1]?.split(' ') ?? [];
  if (alive(pid)) assert.equal(Number(stat(pid)[3]), pid, 'the grandchild leads its own session');
  await waitFor(() => !alive(pid as number), { what: 'the setsid grandchild to be gone', timeoutMs: 5000 });
});

test('a grandchild that ignores SIGTERM gets SIGKILL after the grace period even though the program itself died on SIGTERM', async (t) => {
  const pidFile = join(temp, 'orphan.pid');
  let pid: number | undefined;
  t.after(() => {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const reports: CommandReport[] = [];
  const target = new CommandTarget({
    name: 'orphan',
    command: fixture('orphan-ignores-term.sh'),
    args: [pidFile],
    timeoutMs: 1000,
    killGraceMs: 200,
    onExecuted: (r) => reports.push(r),
  });
  const result = await target.run(event, attemptContext());
  assert.equal(result.ok, false);
  assert.equal(reports[0]?.timed_out, true);
  assert.equal(reports[0]?.signal, 'SIGTERM', 'the program itself stopped on SIGTERM');
  assert.ok(existsSync(pidFile), 'the grandchild started before the timeout');
  pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(pid > 0);
  await waitFor(() => !alive(pid as number), { what: 'the grandchild that ignores SIGTERM to be killed', timeoutMs: 5000 });
});

test('a signal aborted before the run starts: nothing is spawned, the result is a retryable failure', async () => {
  const folder = mkdtempSync(join(temp, 'aborted-'));
  const reports: CommandReport[] = [];
  const target = new CommandTarget({
    name: 'cancelled',
    command: fixture('wait-for-file.sh'),
    args: [folder, join(folder, 'never')],
    timeoutMs: 500,
    killGraceMs: 100,
    onExecuted: (r) => reports.push(r),
  });
  const controller = new AbortController();
  controller.abort(new Error('the lease ended'));
  const result = await target.run(event, { webhookId: 'msg_aborted', attempt: 1, signal: controller.signal });
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error ?? '', /was not started.*the lease ended/);
  assert.deepEqual(readdirSync(folder), [], 'the program never ran');
  assert.deepEqual(reports, [], 'no 20053 report: nothing was executed');
  assert.equal(target.running, 0);
});

test('the default timeout of a command handler is 30 s (config default and the target built from it)', async (t) => {
  assert.equal(new CommandTarget({ name: 'd', command: fixture('fail.sh') }).timeoutMs, 30_000);
  assert.equal(new CommandTarget({ name: 'd', command: fixture('fail.sh') }).killGraceMs, 5_000);
  const runtime = await testRuntime(t, { handlers: [{ type: 'command', name: 'plain', command: fixture('fail.sh'), args: ['0'], target_events: ['100'] }] });
  const handler = runtime.config.handlers.find((h) => h.name === 'plain');
  assert.equal(handler?.type === 'command' ? handler.timeout : undefined, 30);
  const target = runtime.services.targets?.targets.get(handlerTargetName('plain'));
  assert.ok(target instanceof CommandTarget);
  assert.equal(target.timeoutMs, 30_000);
  assert.equal(target.killGraceMs, 5_000);
});

test('a program that ignores SIGTERM gets SIGKILL after the grace period', async () => {
  const reports: CommandReport[] = [];
  const target = new CommandTarget({
    name: 'stubborn',
    command: fixture('ignore-term.sh'),
    timeoutMs: 200,
    killGraceMs: 200,
    onExecuted: (r) => reports.push(r),
  });
  const result = await target.run(event, attemptContext());
  assert.equal(result.ok, false);
  assert.equal(reports[0]?.signal, 'SIGKILL');
  assert.equal(reports[0]?.timed_out, true);
});

test('stdout and stderr are captured up to the cap', async () => {
  const reports: CommandReport[] = [];
  const target = new CommandTarget({ name: 'big', command: fixture('big-output.sh'), outputCap: 1000, onExecuted: (r) => reports.push(r) });
  const result = await target.run(event, attemptContext());
  assert.equal(result.ok, true);
  assert.equal(result.response?.length, 1000);
  assert.equal(reports[0]?.stdout.length, 1000);
});

test('stderr is capped too: the report keeps at most output_cap bytes of it', async () => {
  const reports: CommandReport[] = [];
  const target = new CommandTarget({ name: 'noisy', command: fixture('big-stderr.sh'), outputCap: 500, onExecuted: (r) => reports.push(r) });
  const result = await target.run(event, attemptContext());
  assert.equal(result.ok, true, result.error);
  assert.equal(result.response, 'done\n');
  // About 200 KB went to stderr; the report's head (1 KiB) is bounded by the cap first.
  assert.equal(reports[0]?.stderr.length, 500);
  assert.match(reports[0]?.stderr ?? '', /^(0123456789)+/);
});

test('output_format json: stdout parsed and offered as `output`; bad JSON fails', async () => {
  const target = new CommandTarget({ name: 'json', command: fixture('json-out.sh'), args: ['{{account.name}}', '{{data.size}}'], outputFormat: 'json' });
  const result = await target.run(event, attemptContext());
  assert.equal(result.ok, true);
  assert.deepEqual(result.output, { user: 'alice', count: 42, ok: true });
  const chained = new CommandTarget({
    name: 'next',
    command: fixture('echo-argv.sh'),
    args: ['{{output.user}}', '{{output.count}}'],
    extras: () => ({ output: result.output }),
  });
  const next = await chained.run(event, attemptContext());
  assert.deepEqual(lines(next.response, 'arg:'), ['alice', '42']);
  const bad = new CommandTarget({ name: 'notjson', command: fixture('echo-argv.sh'), args: ['x'], outputFormat: 'json' });
  const failed = await bad.run(event, attemptContext());
  assert.equal(failed.ok, false);
  assert.match(failed.error ?? '', /stdout is not JSON/);
});

test('each run reports command, args, exit code, output heads and duration (for 20053)', async () => {
  const reports: CommandReport[] = [];
  const target = new CommandTarget({ name: 'report', command: fixture('fail.sh'), args: ['2'], onExecuted: (r) => reports.push(r) });
  await target.run(event, attemptContext());
  const [report] = reports;
  assert.equal(report?.handler, 'report');
  assert.equal(report?.command, fixture('fail.sh'));
  assert.deepEqual(report?.args, ['2']);
  assert.equal(report?.exit_code, 2);
  assert.equal(report?.stdout, 'partial output\n');
  assert.equal(report?.stderr, 'something went wrong\n');
  assert.equal(report?.event_uuid, 'e-1');
  assert.equal(typeof report?.duration_ms, 'number');
  const granted: CommandReport[] = [];
  await new CommandTarget({ name: 'g', command: fixture('fail.sh'), args: ['0'], grants: ['account.token'], onExecuted: (r) => granted.push(r) }).run(event, attemptContext());
  assert.equal(granted[0]?.args, undefined, 'arguments may hold granted secrets, so they are not reported');
});

test('per-target concurrency limit (default 2)', async () => {
  const folder = mkdtempSync(join(temp, 'conc-'));
  const go = join(folder, 'go');
  const target = new CommandTarget({ name: 'limited', command: fixture('wait-for-file.sh'), args: [folder, go] });
  assert.equal(target.concurrency, 2);
  const runs = Array.from({ length: 5 }, () => target.run(event, attemptContext()));
  await waitFor(() => readdirSync(folder).filter((f) => f.startsWith('started-')).length >= 2, { what: 'two runs to start', timeoutMs: 5000 });
  assert.equal(target.running, 2);
  assert.equal(readdirSync(folder).filter((f) => f.startsWith('started-')).length, 2);
  writeFileSync(go, '');
  const results = await Promise.all(runs);
  assert.ok(results.every((r) => r.ok));
  assert.equal(readdirSync(folder).filter((f) => f.startsWith('started-')).length, 5);
});

test('preset sftpgo: the real SFTPGo hook script reads its SFTPGO_ACTION_* variables and arguments', async () => {
  const log = join(temp, 'sftpgo.log');
  const script = resolve(import.meta.dirname, '../../examples/hooks/sftpgo-hook.sh');
  const target = new CommandTarget({ name: 'sftpgo', command: script, preset: 'sftpgo', env: { HOOK_LOG: log } });
  const upload = {
    ...event,
    name: 'upload',
    data: {
      action: 'rename',
      username: 'bob',
      path: '/srv/bob/a.txt',
      target_path: '/srv/bob/b.txt',
      file_size: 1234,
      fs_provider: 1,
      bucket: 'files',
      endpoint: 'https://s3.example',
      status: 1,
      protocol: 'SFTP',
      open_flags: 512,
    },
  };
  const result = await target.run(upload, attemptContext());
  assert.equal(result.ok, true, result.error);
  const got = Object.fromEntries(
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.deepEqual(got, {
    argv_action: 'rename',
    argv_username: 'bob',
    argv_path: '/srv/bob/a.txt',
    argv_target_path: '/srv/bob/b.txt',
    argv_ssh_cmd: '',
    SFTPGO_ACTION: 'rename',
    SFTPGO_ACTION_USERNAME: 'bob',
    SFTPGO_ACTION_PATH: '/srv/bob/a.txt',
    SFTPGO_ACTION_TARGET: '/srv/bob/b.txt',
    SFTPGO_ACTION_SSH_CMD: '',
    SFTPGO_ACTION_FILE_SIZE: '1234',
    SFTPGO_ACTION_FS_PROVIDER: '1',
    SFTPGO_ACTION_BUCKET: 'files',
    SFTPGO_ACTION_ENDPOINT: 'https://s3.example',
    SFTPGO_ACTION_STATUS: '1',
    SFTPGO_ACTION_PROTOCOL: 'SFTP',
    SFTPGO_ACTION_OPEN_FLAGS: '512',
  });
  // Exactly SFTPGo's variables (plus PATH and what the config adds), nothing inherited.
  const env = Object.keys(target.prepare(upload, attemptContext()).env).sort();
  assert.deepEqual(env, ['HOOK_LOG', 'PATH', ...SFTPGO_ENV_NAMES].sort());
  // Defaults from the event when data lacks them: username from the account, action from the name.
  const defaults = target.prepare(event, attemptContext()).env;
  assert.equal(defaults['SFTPGO_ACTION'], 'upload');
  assert.equal(defaults['SFTPGO_ACTION_USERNAME'], 'alice');
  assert.equal(defaults['SFTPGO_ACTION_FILE_SIZE'], '0');
  // As a pre-upload gate, the script's exit status decides.
  const denied = await target.run({ ...event, data: { action: 'pre-upload', path: '/srv/forbidden/x' } }, attemptContext());
  assert.deepEqual([denied.ok, denied.exitCode], [false, 1]);
  assert.match(denied.error ?? '', /forbidden/);
});
