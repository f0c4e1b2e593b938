import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { silentLogger } from '../../src/logger.js';
import { tempConfigDir } from './helpers.js';

async function refused(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'HKW_ERR_CONFIG_INVALID');
    return err;
  }
  assert.fail('the config was accepted');
}

test('a YAML file loads, with defaults filled in and its folder as baseDir', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const file = write('hookwork.yaml', 'server:\n  port: 9123\nevents:\n  - id: 20300\n    name: numeric-id\n');
  const loaded = await loadConfig(file);
  assert.equal(loaded.config.server.port, 9123);
  assert.equal(loaded.config.server.host, '127.0.0.1');
  assert.equal(loaded.config.events[0]?.id, '20300', 'numeric ids become strings');
  assert.equal(loaded.config.strict, true);
  assert.equal(loaded.baseDir, dir);
  assert.deepEqual(loaded.files, [file]);
  // .yml works the same
  const yml = write('other.yml', 'strict: false\n');
  assert.equal((await loadConfig(yml)).config.strict, false);
});

test('a JSON file loads', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const file = write('hookwork.json', JSON.stringify({ server: { name: 'json-host' }, gates: { 'pre-upload': { fail_open: true } } }));
  const loaded = await loadConfig(file);
  assert.equal(loaded.config.server.name, 'json-host');
  assert.deepEqual(loaded.config.gates['pre-upload'], { fail_open: true });
  assert.equal(loaded.baseDir, dir);
});

test('an empty file is an empty (all defaults) config', async (t) => {
  const { write } = tempConfigDir(t);
  const loaded = await loadConfig(write('empty.yaml', '# nothing yet\n'));
  assert.equal(loaded.config.server.port, 8080);
  assert.deepEqual(loaded.config.handlers, []);
});

test('with no path, the embedded default config is used and baseDir is the working directory', async (t) => {
  const loaded = await loadConfig();
  assert.deepEqual(loaded.files, [DEFAULT_CONFIG_PATH]);
  assert.equal(loaded.baseDir, process.cwd());
  assert.equal(loaded.config.server.host, '127.0.0.1');
  assert.equal(loaded.config.server.port, 8080);
  assert.equal(loaded.config.server.data_dir, 'data');
  assert.deepEqual(loaded.config.auth.tokens, []);
  const names = loaded.config.events.map((e) => e.name);
  for (const name of ['upload', 'download', 'delete', 'rename']) assert.ok(names.includes(name), name);
  for (const gate of ['pre-upload', 'pre-download', 'pre-delete']) assert.ok(gate in loaded.config.gates, gate);

  // ...and it works: a runtime starts on it and its events validate their data.
  const baseDir = mkdtempSync(join(tmpdir(), 'hookwork-default-'));
  t.after(() => rmSync(baseDir, { recursive: true, force: true }));
  const runtime = await createRuntime({ config: loaded.config, baseDir, logger: silentLogger() });
  t.after(() => runtime.close());
  const upload = loaded.config.events.find((e) => e.name === 'upload');
  assert.ok(upload);
  const event = await runtime.host.emit(upload.id, { data: { path: '/in/a.csv', file_size: 10 }, account: { uuid: 'u', name: 'alice' } });
  assert.equal(event.message, 'alice uploaded /in/a.csv');
  await assert.rejects(runtime.host.emit(upload.id, { data: { file_size: 10 } }), /path/);
  const gate = await runtime.host.gate('pre-upload', { path: '/in/a.csv' });
  assert.equal(gate.verdict, 'allow');
});

test('a missing path or an unsupported file type is a problem naming the path', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const missing = join(dir, 'nope.yaml');
  const e1 = await refused(loadConfig(missing));
  assert.equal(e1.problems[0]?.file, missing);
  assert.match(e1.problems[0]?.message ?? '', /does not exist/);

  const txt = write('config.txt', 'server: {}');
  const e2 = await refused(loadConfig(txt));
  assert.equal(e2.problems[0]?.file, txt);
  assert.match(e2.problems[0]?.message ?? '', /\.yaml, \.yml, \.json, \.ini, \.conf/);
});
