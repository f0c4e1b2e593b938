// No dead code and no stray dependency: knip, with the project's knip.json,
// finds nothing in the tree, and finds an unused export, file and
// dependency in a scratch project (so the check can fail).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const KNIP = join(ROOT, 'node_modules', '.bin', 'knip');

async function knip(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(KNIP, ['--directory', cwd, '--no-progress', '--no-config-hints'], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

test('knip finds no unused file, export, type or dependency in the tree', async () => {
  const { code, output } = await knip(ROOT);
  assert.equal(code, 0, output);
});

test('standardwebhooks (used by tests only) is a devDependency', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
  assert.equal(pkg['dependencies']?.['standardwebhooks'], undefined);
  assert.ok(pkg['devDependencies']?.['standardwebhooks']);
});

test('the knip config reports an unused export, an unused file and an unused dependency', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-knip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'knip.json'), join(dir, 'knip.json'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', version: '0.0.0', type: 'module', dependencies: { 'left-pad': '1.3.0' } }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'index.ts'), "import { used } from './a.js';\nexport const value = used();\n");
  // `forgotten` is exported and used by nobody; `helper` only in its own file (allowed).
  writeFileSync(join(dir, 'src', 'a.ts'), 'const helper = (): number => 1;\nexport const used = (): number => helper();\nexport function forgotten(): number {\n  return 2;\n}\n');
  writeFileSync(join(dir, 'src', 'orphan.ts'), 'export const orphan = 1;\n');
  const { code, output } = await knip(dir);
  assert.notEqual(code, 0, output);
  assert.match(output, /Unused files[\s\S]*src\/orphan\.ts/);
  assert.match(output, /Unused exports[\s\S]*forgotten/);
  assert.match(output, /Unused dependencies[\s\S]*left-pad/);
  assert.doesNotMatch(output, /\bused\b.*src\/a\.ts/);
});
