// The package as it is published: `npm run build` emits dist/ with type
// declarations for the public API (`hookwork` and each subpath of
// package.json `exports`) and the `hookwork` bin.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

test('the build emits JavaScript and type declarations for the public API, every subpath export and the bin', () => {
  const out = mkdtempSync(join(tmpdir(), 'hookwork-build-'));
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { cwd: ROOT, stdio: 'pipe' });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      main: string;
      types: string;
      bin: { hookwork: string };
      exports: Record<string, { types: string; import: string }>;
    };
    const inOut = (path: string): string => join(out, path.replace(/^\.\/dist\//, ''));
    for (const path of [pkg.main, pkg.types, pkg.bin.hookwork]) assert.ok(existsSync(inOut(path)), `${path} is built`);
    // `hookwork` and each subpath: its module and its declarations.
    assert.ok(Object.keys(pkg.exports).length > 1, 'the subpaths are exported');
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      for (const path of [target.import, target.types]) assert.ok(existsSync(inOut(path)), `${subpath}: ${path} is built`);
    }
    assert.match(readFileSync(join(out, 'entry', 'delivery.d.ts'), 'utf8'), /\bDeliveryService\b/, 'a subpath declares its names');
    const types = readFileSync(inOut(pkg.types), 'utf8');
    for (const name of ['createHost', 'createRuntime', 'createGateway', 'definePlugin', 'loadConfig']) {
      assert.match(types, new RegExp(`\\b${name}\\b`), `${name} is in the declarations`);
    }
    assert.match(readFileSync(join(out, 'errors.d.ts'), 'utf8'), /export declare class ConfigError\b/, 'the error classes are declared');
    assert.match(readFileSync(inOut(pkg.bin.hookwork), 'utf8'), /^#!\/usr\/bin\/env node/, 'the bin starts with a shebang');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
