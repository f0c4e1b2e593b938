// End to end: the real `hookwork` bin in a child process, reached over HTTP.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hookwork, listeningUrl } from '../helpers/hookwork-cli.js';
import { send } from './gateway-helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookwork-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('hookwork serve with no config starts on the embedded default, takes an event, stops on SIGTERM', async () => {
  const cwd = await mkdtemp(join(dir, 'default-'));
  const server = hookwork(['serve', '--port', '0'], cwd);
  try {
    const url = await listeningUrl(server);
    const health = await send(url, 'GET', '/v1/health');
    assert.equal(health.status, 200);
    assert.equal(health.body['status'], 'ok');
    // The engine's own events are always in the catalogue.
    const emitted = await send(url, 'POST', '/v1/events', { json: { id: 20200, data: { message: 'hello' } } });
    assert.equal(emitted.status, 202);
    assert.equal(emitted.body['id'], '20200');
    // The default's own catalogue and gates work: an upload, its data schema, the pre-upload gate.
    assert.equal((await send(url, 'POST', '/v1/events', { json: { id: '30001', data: { path: '/in/a.csv', file_size: 3 } } })).status, 202);
    const invalid = await send(url, 'POST', '/v1/events', { json: { id: '30001', data: { file_size: 3 } } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body['code'], 'HKW_ERR_INVALID_EVENT_DATA');
    assert.deepEqual((await send(url, 'POST', '/v1/gates/pre-upload', { json: { path: '/in/a.csv' } })).body, { verdict: 'allow' });
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
    const url = await listeningUrl(server);
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
