import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, HOOKWORK_URL } from './helpers.js';

const version = (n: number) => `
export const plugin = {
  name: 'greeter',
  version: '${n}.0.0',
  setup(ctx) {
    ctx.define('greet', () => 'hello from v${n}');
  },
};
`;

test('reload picks up a changed .mjs file from disk without restarting', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('greeter.mjs', version(1));
  await f.manager.load('greeter');
  assert.equal(f.host.call('greet'), 'hello from v1');
  f.write('greeter.mjs', version(2));
  assert.equal(f.host.call('greet'), 'hello from v1', 'running code is untouched until reload');
  const info = await f.manager.reload('greeter');
  assert.equal(info.version, '2.0.0');
  assert.equal(f.host.call('greet'), 'hello from v2');
  // Unchanged files reuse the loaded module; changing back works too.
  await f.manager.reload('greeter');
  assert.equal(f.host.call('greet'), 'hello from v2');
  f.write('greeter.mjs', version(1));
  await f.manager.reload('greeter');
  assert.equal(f.host.call('greet'), 'hello from v1');
});

test('reload picks up a changed TypeScript file (through tsx)', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  const ts = (n: number) => `import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};
const answer: number = ${n};
export default definePlugin({ name: 'typed', version: '${n}', setup(ctx) { ctx.define('answer', () => answer); } });\n`;
  f.write('package.json', '{ "type": "module" }');
  f.write('typed.ts', ts(1));
  await f.manager.load('typed');
  assert.equal(f.host.call('answer'), 1);
  f.write('typed.ts', ts(42));
  await f.manager.reload('typed');
  assert.equal(f.host.call('answer'), 42);
});

test('a reload whose new code fails leaves the plugin failed with the error, and a fix loads it', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('greeter.mjs', version(1));
  await f.manager.load('greeter');
  f.write('greeter.mjs', `export const plugin = { name: 'greeter', version: '9', setup() { throw new Error('v9 is broken'); } };\n`);
  await assert.rejects(f.manager.reload('greeter'), { code: 'HKW_ERR_PLUGIN_START_FAILED' });
  const info = f.manager.get('greeter');
  assert.equal(info?.state, 'failed');
  assert.equal(info?.lastError?.message, 'v9 is broken');
  assert.equal(f.host.methods.has('greet'), false, 'the old registration is gone too');
  f.write('greeter.mjs', version(3));
  await f.manager.load('greeter');
  assert.equal(f.host.call('greet'), 'hello from v3');
});

test('a reload whose changed file does not import fails with the import error, not the old code', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('greeter.mjs', version(1));
  await f.manager.load('greeter');
  f.write('greeter.mjs', 'export const plugin = {\n  name: "greeter",,\n');
  await assert.rejects(f.manager.reload('greeter'), { code: 'HKW_ERR_PLUGIN_INVALID', message: /importing .*greeter\.mjs failed/ });
  const info = f.manager.get('greeter');
  assert.equal(info?.state, 'failed');
  assert.equal(info?.lastError?.code, 'HKW_ERR_PLUGIN_INVALID');
  assert.match(info?.lastError?.message ?? '', /importing .*greeter\.mjs failed/);
  assert.equal(info?.version, undefined, 'the old code is not reported as loaded');
  assert.match(info?.file ?? '', /greeter\.mjs$/);
  assert.equal(f.host.methods.has('greet'), false, 'the old code is not running');
  // Loading again without a fix fails the same way.
  await assert.rejects(f.manager.load('greeter'), { code: 'HKW_ERR_PLUGIN_INVALID' });
  assert.equal(f.manager.get('greeter')?.state, 'failed');
  // Fixed: a reload starts the new code.
  f.write('greeter.mjs', version(2));
  const fixed = await f.manager.reload('greeter');
  assert.deepEqual([fixed.state, fixed.version, fixed.lastError], ['running', '2.0.0', undefined]);
  assert.equal(f.host.call('greet'), 'hello from v2');
});

test('a load after the stopped plugin\'s file broke fails with the import error', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('renamed.mjs', `export const plugin = { name: 'greeter', version: '1.0.0', setup(ctx) { ctx.define('greet', () => 'v1'); } };\n`);
  await f.manager.load('greeter');
  assert.equal(f.host.methods.has('greet'), true);
  await f.manager.unload('greeter');
  f.write('renamed.mjs', 'export const plugin = {\n');
  await assert.rejects(f.manager.load('greeter'), { code: 'HKW_ERR_PLUGIN_INVALID' });
  const info = f.manager.get('greeter');
  assert.equal(info?.state, 'failed');
  assert.match(info?.lastError?.message ?? '', /importing .*renamed\.mjs failed/);
  assert.equal(f.host.methods.has('greet'), false);
  f.write('renamed.mjs', `export const plugin = { name: 'greeter', version: '2.0.0', setup(ctx) { ctx.define('greet', () => 'v2'); } };\n`);
  assert.equal((await f.manager.load('greeter')).state, 'running');
  assert.equal(f.host.call('greet'), 'v2');
  assert.deepEqual(f.manager.list().map((p) => p.name), ['greeter']);
});
