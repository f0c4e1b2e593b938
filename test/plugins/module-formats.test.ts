// Plugins load as ES modules wherever the plugins folder is (.ts, .mts, .js,
// .mjs), as CommonJS where they say so (.cjs, .cts): here a temp folder
// inside no package.json. The ESM files use top-level await (CommonJS
// refuses it) and a named `plugin` export (tsx's CommonJS output loses it).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fixture } from './helpers.js';

const ESM = (label: string, typed: boolean): string => `
const ready${typed ? ': boolean' : ''} = await Promise.resolve(true);
export const plugin = {
  name: 'fmt-${label}', version: '1.0.0',
  setup(ctx${typed ? ': { define(name: string, fn: () => string): unknown }' : ''}) {
    if (!ready) throw new Error('top-level await did not run');
    ctx.define('fmt.${label}', () => '${label}');
  },
};
`;

const CJS = (label: string, typed: boolean): string => `
if (typeof module !== 'object') throw new Error('not loaded as CommonJS');
module.exports.plugin = {
  name: 'fmt-${label}', version: '1.0.0',
  setup(ctx${typed ? ': { define(name: string, fn: () => string): unknown }' : ''}) {
    ctx.define('fmt.${label}', () => '${label}');
  },
};
`;

const FILES: Record<string, string> = {
  'p-ts.ts': ESM('ts', true),
  'p-mts.mts': ESM('mts', true),
  'p-js.js': ESM('js', false),
  'p-mjs.mjs': ESM('mjs', false),
  'p-cjs.cjs': CJS('cjs', false),
  'p-cts.cts': CJS('cts', true),
};

function insideNoPackage(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'package.json'))) return false;
    if (dirname(current) === current) return true;
  }
}

test('plugins in .ts, .mts, .js, .mjs, .cjs and .cts files outside any package load and run', async (t) => {
  const labels = ['ts', 'mts', 'js', 'mjs', 'cjs', 'cts'];
  const f = fixture({ active: labels.map((l) => `fmt-${l}`) });
  t.after(() => f.cleanup());
  assert.ok(insideNoPackage(f.folder), `${f.folder} must not be inside a package for this test to mean anything`);
  for (const [name, source] of Object.entries(FILES)) f.write(name, source);
  const list = await f.manager.loadActive();
  assert.deepEqual(
    list.map((p) => [p.name, p.state, p.lastError?.message]),
    labels.map((l) => [`fmt-${l}`, 'running', undefined]).sort(),
  );
  for (const label of labels) assert.equal(await f.host.call(`fmt.${label}`), label);
});
