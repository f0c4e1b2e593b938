// The built package (what an installed gateway runs, no tsx loader on the
// command line) loads TypeScript extensions and plugins from a folder inside
// no package: tsx is a dependency and Hookwork registers it itself, in the
// main thread and in the extension workers.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

test('tsx is a runtime dependency, not only a dev one', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.ok(pkg.dependencies['tsx'] !== undefined, 'tsx is in dependencies');
  assert.equal(pkg.devDependencies['tsx'], undefined);
});

test('the built code, run by plain node, loads a .ts extension (handle() in its worker) and a .ts plugin outside any package', (t) => {
  // Inside the project, so the build resolves its dependencies from node_modules.
  const out = mkdtempSync(join(ROOT, '.dist-test-'));
  const operator = mkdtempSync(join(tmpdir(), 'hookwork-dist-operator-'));
  t.after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(operator, { recursive: true, force: true });
  });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], { cwd: ROOT, stdio: 'pipe' });

  mkdirSync(join(operator, 'extensions'));
  mkdirSync(join(operator, 'plugins'));
  writeFileSync(
    join(operator, 'extensions', 'greet.ts'),
    `const ready: boolean = await Promise.resolve(true);
export class Greet { static handle(event: { id: string }, configuration: string): string { return 'ts ' + configuration + ' ' + event.id + (ready ? '' : '?'); } }\n`,
  );
  writeFileSync(
    join(operator, 'plugins', 'typed.ts'),
    `export const plugin = { name: 'typed', version: '1.0.0', setup(ctx: { define(name: string, fn: () => string): unknown }): void { ctx.define('typed.hello', () => 'hello'); } };\n`,
  );
  const script = join(operator, 'run.mjs');
  writeFileSync(
    script,
    `import { createRuntime, silentLogger } from ${JSON.stringify(pathToFileURL(join(out, 'index.js')).href)};
const runtime = await createRuntime({
  baseDir: ${JSON.stringify(operator)},
  logger: silentLogger(),
  config: {
    server: { data_dir: ${JSON.stringify(join(operator, 'data'))} },
    events: [{ id: '2000', name: 'work' }],
    extensions: { folder: 'extensions', pool: { size: 1 } },
    handlers: [{ type: 'extension', name: 'greet', entry_point: 'greet.ts#Greet', configuration: 'cfg', target_events: ['2000'] }],
    plugins: { folder: 'plugins', active: ['typed'] },
  },
});
const results = [];
runtime.host.on('*', (event) => { if (event.component.type === 'extension') results.push(event.message); });
await runtime.host.emit('2000', {});
await runtime.services.extensions.idle();
const report = {
  handler: runtime.services.extensions.get('greet'),
  plugin: runtime.services.plugins.get('typed'),
  call: await runtime.host.call('typed.hello'),
  results,
};
await runtime.close();
process.stdout.write(JSON.stringify(report));
`,
  );
  // Plain node: no --import tsx, as an installed gateway runs.
  const output = execFileSync(process.execPath, [script], { cwd: operator, encoding: 'utf8', env: { ...process.env, HOOKWORK_LOG_LEVEL: 'silent' }, timeout: 60_000 });
  const report = JSON.parse(output) as {
    handler: { state: string; lastError?: { message: string } };
    plugin: { state: string; lastError?: { message: string } };
    call: string;
    results: string[];
  };
  assert.equal(report.handler.state, 'started', report.handler.lastError?.message);
  assert.equal(report.plugin.state, 'running', report.plugin.lastError?.message);
  assert.equal(report.call, 'hello');
  assert.deepEqual(report.results, ['ts cfg 2000']);
});
