// End to end: the real `hookwork` bin in a child process, reached over HTTP.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { send } from './gateway-helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
// An absolute loader URL, so the child can run in any folder.
const TSX = import.meta.resolve('tsx');

interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function hookwork(args: string[], cwd: string): Spawned {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    env: { ...process.env, HOOKWORK_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor<T>(what: string, probe: () => T | undefined, spawned: Spawned): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = probe();
    if (value !== undefined) return value;
    if (spawned.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}; stdout: ${spawned.stdout()} stderr: ${spawned.stderr()}`);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookwork-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('hookwork serve with no config starts on the embedded default, takes an event, stops on SIGTERM', async () => {
  const cwd = await mkdtemp(join(dir, 'default-'));
  const server = hookwork(['serve', '--port', '0'], cwd);
  try {
    const url = await waitFor('the listening line', () => /hookwork listening on (http:\/\/\S+)/.exec(server.stdout())?.[1], server);
    const health = await send(url, 'GET', '/v1/health');
    assert.equal(health.status, 200);
    assert.equal(health.body['status'], 'ok');
    // The engine's own events are always in the catalogue.
    const emitted = await send(url, 'POST', '/v1/events', { json: { id: 20200, data: { message: 'hello' } } });
    assert.equal(emitted.status, 202);
    assert.equal(emitted.body['id'], '20200');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.match(server.stdout(), /hookwork stopped/);
  } finally {
    server.child.kill('SIGKILL');
  }
});

test('hookwork serve --config uses the file (its events, gates and port override)', async () => {
  const file = join(dir, 'hookwork.yaml');
  await writeFile(
    file,
    ['server:', '  name: edge-1', '  port: 1', 'events:', '  - id: 100', '    name: uploaded', 'gates:', '  pre-upload: {}', ''].join('\n'),
  );
  const server = hookwork(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1'], dir);
  try {
    const url = await waitFor('the listening line', () => /hookwork listening on (http:\/\/\S+)/.exec(server.stdout())?.[1], server);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await send(url, 'GET', '/v1/health')).body['server'] !== undefined, true);
    assert.equal(((await send(url, 'GET', '/v1/health')).body['server'] as { name: string }).name, 'edge-1');
    assert.equal((await send(url, 'POST', '/v1/events', { json: { id: 100 } })).status, 202);
    assert.deepEqual((await send(url, 'POST', '/v1/gates/pre-upload', { json: {} })).body, { verdict: 'allow' });
    server.child.kill('SIGINT');
    assert.equal(await server.exited, 0);
  } finally {
    server.child.kill('SIGKILL');
  }
});

test('hookwork serve with a bad config prints every problem and exits 2', async () => {
  const file = join(dir, 'bad.json');
  await writeFile(file, JSON.stringify({ server: { port: 'eighty' }, strict: 'yes' }));
  const server = hookwork(['serve', '--config', file], dir);
  assert.equal(await server.exited, 2);
  assert.match(server.stderr(), /server\.port/);
  assert.match(server.stderr(), /strict/);
  assert.equal(server.stdout(), '');
});

test('hookwork serve with a missing config file exits 2 naming it', async () => {
  const server = hookwork(['serve', '--config', join(dir, 'nope.yaml')], dir);
  assert.equal(await server.exited, 2);
  assert.match(server.stderr(), /nope\.yaml/);
});

test('hookwork serve --port with a non-number is a usage error', async () => {
  const server = hookwork(['serve', '--port', 'abc'], dir);
  assert.notEqual(await server.exited, 0);
  assert.match(server.stderr(), /not a port/);
});
