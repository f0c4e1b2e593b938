import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanPluginFolder } from '../../src/plugins/discovery.js';
import { fixture, HOOKWORK_URL } from './helpers.js';
import { captureLogger } from '../helpers/capture-logger.js';

const plugin = (name: string) => `export const plugin = { name: '${name}', version: '1.0.0', setup() {} };\n`;

test('discovery finds .js/.mjs/.ts files and package folders; skips index, hidden and non-plugin modules', async (t) => {
  const logger = captureLogger();
  const f = fixture({ logger });
  t.after(() => f.cleanup());
  f.write('package.json', '{ "type": "module" }');
  f.write('alpha.mjs', plugin('alpha'));
  f.write('beta.js', plugin('beta'));
  f.write('gamma.ts', `import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({ name: 'gamma', version: '3.1.0', description: 'typed', setup(ctx) { const n: number = 1; void n; void ctx; } });\n`);
  f.write('index.mjs', plugin('from-index'));
  f.write('index.ts', plugin('from-index-ts'));
  f.write('.hidden.mjs', plugin('hidden'));
  f.write('types.d.ts', 'export {};\n');
  f.write('notes.txt', 'not code');
  f.write('helper.mjs', 'export const notAPlugin = 1;\n');
  f.write('pkg/package.json', JSON.stringify({ name: 'pkg', type: 'module', main: 'lib/main.js' }));
  f.write('pkg/lib/main.js', plugin('packaged'));
  f.write('loose/thing.mjs', plugin('loose'));
  f.write('.git/config.mjs', plugin('git'));

  const bases = scanPluginFolder(f.folder).map((c) => c.base);
  assert.deepEqual(bases, ['alpha', 'beta', 'gamma', 'helper', 'pkg']);

  const list = await f.manager.discover();
  assert.deepEqual(list.map((p) => [p.name, p.version, p.state]), [
    ['alpha', '1.0.0', 'discovered'],
    ['beta', '1.0.0', 'discovered'],
    ['gamma', '3.1.0', 'discovered'],
    ['packaged', '1.0.0', 'discovered'],
  ]);
  assert.ok(
    logger.lines.some((l) => l.level === 'debug' && /helper\.mjs exports no plugin/.test(l.msg ?? '')),
    'a module without a plugin export is skipped with a debug line',
  );
  assert.equal((await f.manager.load('packaged')).state, 'running');
  assert.equal((await f.manager.load('gamma')).description, 'typed');
});

test('the class style: constructed with the context, start() and stop(), statics for the name', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('example.mjs', `
export default class Example {
  static pluginName = 'Example';
  static version = '2.4.0';
  constructor(ctx) { this.ctx = ctx; globalThis.__classLog = ['constructed']; ctx.on('*', () => {}); }
  start() { globalThis.__classLog.push('start:' + this.ctx.name); }
  stop() { globalThis.__classLog.push('stop'); }
}
`);
  f.write('unnamed.mjs', `export const plugin = class { };\n`);
  await f.manager.load('Example');
  await f.manager.unload('Example');
  assert.deepEqual((globalThis as unknown as { __classLog: string[] }).__classLog, ['constructed', 'start:Example', 'stop']);
  // Without a static name the file name is the plugin's name (LUNA names plugins by file).
  assert.equal((await f.manager.load('unnamed')).version, '0.0.0');
});

test('a plugin can be loaded by its file name when its declared name differs', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('event_sending_plugin_example.mjs', plugin('event-sending'));
  const info = await f.manager.load('event_sending_plugin_example');
  assert.equal(info.name, 'event-sending');
  assert.equal(f.manager.get('event-sending')?.state, 'running');
});

test('broken and malformed modules are reported, not fatal', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('good.mjs', plugin('good'));
  f.write('broken.mjs', 'export const plugin = {\n');
  f.write('nosetup.mjs', `export const plugin = { name: 'nosetup', version: '1' };\n`);
  f.write('badname.mjs', `export const plugin = { name: 'bad name!', version: '1', setup() {} };\n`);
  f.write('dup.mjs', plugin('good'));
  const list = await f.manager.discover();
  const byName = Object.fromEntries(list.map((p) => [p.name, p]));
  assert.equal(byName['good']?.state, 'discovered');
  assert.equal(byName['good']?.file?.endsWith('dup.mjs'), true, 'the first file (sorted) keeps the name');
  assert.equal(byName['broken']?.state, 'failed');
  assert.equal(byName['broken']?.lastError?.code, 'HKW_ERR_PLUGIN_INVALID');
  assert.match(byName['nosetup']?.lastError?.message ?? '', /no setup\(ctx\) function/);
  assert.match(byName['badname']?.lastError?.message ?? '', /its name "bad name!"/);
  await assert.rejects(f.manager.load('broken'), { code: 'HKW_ERR_PLUGIN_INVALID' });
  // Fixing the file makes it loadable without restarting anything.
  f.write('broken.mjs', plugin('broken'));
  assert.equal((await f.manager.load('broken')).state, 'running');
});

test('a missing plugins folder is an empty one', async (t) => {
  const f = fixture({ folder: '/nonexistent/hookwork/plugins' });
  t.after(() => f.cleanup());
  assert.deepEqual(await f.manager.discover(), []);
  await assert.rejects(f.manager.load('any'), { code: 'HKW_ERR_PLUGIN_NOT_FOUND' });
});
