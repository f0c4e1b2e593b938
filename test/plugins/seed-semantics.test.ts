// The plugin seeds' own semantics: UCS's `load` of a running plugin loads it
// again from disk; LUNA's active list names plugins by file name.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture } from './helpers.js';

const greeter = (n: number) => `
export const plugin = {
  name: 'greeter',
  version: '${n}.0.0',
  setup(ctx) {
    ctx.define('greet', () => 'hello from v${n}');
    return {
      stop() {
        globalThis.__greeterStops = (globalThis.__greeterStops ?? 0) + 1;
      },
    };
  },
};
`;

test('UCS: loading a plugin that is already running stops it and loads it again from disk', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  (globalThis as { __greeterStops?: number }).__greeterStops = 0;
  f.write('greeter.mjs', greeter(1));
  assert.equal((await f.manager.load('greeter')).version, '1.0.0');
  assert.equal(f.host.call('greet'), 'hello from v1');
  f.write('greeter.mjs', greeter(2));
  const info = await f.manager.load('greeter');
  assert.equal(info.state, 'running');
  assert.equal(info.version, '2.0.0', 'the code on disk now');
  assert.equal(f.host.call('greet'), 'hello from v2');
  assert.equal((globalThis as { __greeterStops?: number }).__greeterStops, 1, 'the running instance was stopped first');
});

const named = (name: string) => `export const plugin = { name: '${name}', version: '1.0.0', setup(ctx) { ctx.define('${name}.ping', () => 'pong'); } };\n`;

test('LUNA: an active list of file names starts those plugins and lists each once, active', async (t) => {
  const f = fixture({ active: ['event_sending_plugin_example', 'broken_plugin'] });
  t.after(() => f.cleanup());
  f.write('event_sending_plugin_example.mjs', named('event-sender'));
  f.write('broken_plugin.mjs', 'throw new Error("cannot import me");\n');
  f.write('idle.mjs', named('idle'));
  const list = await f.manager.loadActive();
  const sender = list.find((p) => p.name === 'event-sender');
  assert.equal(sender?.state, 'running');
  assert.equal(sender?.active, true, 'listed by its file name, so active');
  assert.equal(list.find((p) => p.name === 'idle')?.active, false);
  const broken = list.filter((p) => p.name === 'broken_plugin' || p.file?.endsWith('broken_plugin.mjs'));
  assert.equal(broken.length, 1, 'a failed plugin appears once, not again under its file name');
  assert.equal(broken[0]?.state, 'failed');
  assert.equal(broken[0]?.active, true);
  assert.equal(list.length, 3);
});

test('LUNA: a config reload that drops a file name from the list stops that plugin', async (t) => {
  const f = fixture({ active: ['event_sending_plugin_example'] });
  t.after(() => f.cleanup());
  f.write('event_sending_plugin_example.mjs', named('event-sender'));
  await f.manager.loadActive();
  assert.equal(f.manager.get('event-sender')?.state, 'running');
  const done = await f.manager.reconfigure({ active: [], config: {} });
  assert.deepEqual(done.unloaded, ['event-sender']);
  assert.equal(f.manager.get('event-sender')?.state, 'stopped');
  assert.equal(f.manager.get('event-sender')?.active, false);
});
