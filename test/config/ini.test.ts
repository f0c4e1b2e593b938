import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { iniToConfig } from '../../src/config/ini.js';
import { loadConfig } from '../../src/config/load.js';
import { tempConfigDir } from './helpers.js';

// The example of SFTPPlus's documentation (seed 000, section 12.4.1), verbatim.
const SEED_INI = `[event-handlers/56df1d0a-78c6-11e9-a2ff-137be4dbb9a8]
enabled = yes
type = extension
name = python-extension

entry_point = python:extensions.demo_event_handler.DemoEventHandler

configuration = some-free-text-configuration
`;

test("the seed's INI example becomes one extension handler", () => {
  const { value, problems } = iniToConfig(SEED_INI);
  assert.deepEqual(problems, []);
  assert.deepEqual(value, {
    handlers: [
      {
        uuid: '56df1d0a-78c6-11e9-a2ff-137be4dbb9a8',
        enabled: true,
        type: 'extension',
        name: 'python-extension',
        entry_point: 'python:extensions.demo_event_handler.DemoEventHandler',
        configuration: 'some-free-text-configuration',
      },
    ],
  });
});

test("the seed's INI example validates as a whole config", async (t) => {
  const { dir, write } = tempConfigDir(t);
  const file = write('server.ini', SEED_INI);
  const loaded = await loadConfig(file);
  assert.equal(loaded.baseDir, dir);
  assert.equal(loaded.config.handlers.length, 1);
  const handler = loaded.config.handlers[0];
  assert.ok(handler && handler.type === 'extension');
  assert.equal(handler.uuid, '56df1d0a-78c6-11e9-a2ff-137be4dbb9a8');
  assert.equal(handler.name, 'python-extension');
  assert.equal(handler.enabled, true);
  assert.equal(handler.entry_point, 'python:extensions.demo_event_handler.DemoEventHandler');
  assert.equal(handler.configuration, 'some-free-text-configuration');
});

test('INI strings are typed by the schema: yes/no booleans, numbers, comma-separated lists', () => {
  const { value, problems } = iniToConfig(`strict = no
log_level = debug

[server]
port = 9090
name = true

[event-handlers/h-1]
enabled = no
type = extension
name = second
entry_point = demo.Handler
configuration = 42
target_events = 20200, 20201 ,, 30001

[gates/pre-upload]
fail_open = on
timeout = 2.5

[changes/agent-status]
mode = exclusive

[plugins]
active = audit, quota

[events/30001]
name = upload
groups = file, transfer
message = {{account.name}} uploaded {{data.path}}
`);
  assert.deepEqual(problems, []);
  assert.equal(value['strict'], false);
  assert.equal(value['log_level'], 'debug');
  assert.deepEqual(value['server'], { port: 9090, name: 'true' }, 'a string key keeps "true" as text');
  const handler = (value['handlers'] as Record<string, unknown>[])[0];
  assert.equal(handler?.['enabled'], false);
  assert.equal(handler?.['configuration'], '42', 'free text stays text');
  assert.deepEqual(handler?.['target_events'], ['20200', '20201', '30001']);
  assert.deepEqual(value['gates'], { 'pre-upload': { fail_open: true, timeout: 2.5 } });
  assert.deepEqual(value['changes'], { 'agent-status': { mode: 'exclusive' } });
  assert.deepEqual(value['plugins'], { active: ['audit', 'quota'] });
  assert.deepEqual(value['events'], [
    { id: '30001', name: 'upload', groups: ['file', 'transfer'], message: '{{account.name}} uploaded {{data.path}}' },
  ]);
});

test('several handler sections keep their order; a full INI config validates', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('hookwork.conf', `[server]
port = 9191

[event-handlers/aaa]
type = extension
name = first
entry_point = demo.First

[event-handlers/bbb]
type = extension
name = second
enabled = no
entry_point = demo.Second
target_events = 20200, 20201
`);
  const loaded = await loadConfig(file);
  assert.equal(loaded.config.server.port, 9191);
  assert.deepEqual(loaded.config.handlers.map((h) => [h.uuid, h.name, h.enabled]), [
    ['aaa', 'first', true],
    ['bbb', 'second', false],
  ]);
});

test('bad INI values and unknown sections are problems with the file and key', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('bad.ini', `[server]
port = eighty

[event-handlers/x]
type = extension
name = x
entry_point = demo.X
enabled = perhaps

[services/ssh-1]
port = 22
`);
  try {
    await loadConfig(file);
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const keys = err.problems.map((p) => p.key);
    assert.ok(keys.includes('[services/ssh-1]'), keys.join());
    assert.ok(keys.includes('server.port'), keys.join());
    assert.ok(keys.includes('handlers.0.enabled'), keys.join());
    for (const problem of err.problems) assert.equal(problem.file, file);
  }
});
