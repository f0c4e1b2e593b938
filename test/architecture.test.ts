// The layer rules of docs/architecture.md, as .dependency-cruiser.cjs states
// them: the source tree passes, and a tree that breaks them does not (so the
// check can fail).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

async function cruise(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(DEPCRUISE, ['src', '--config', join(cwd, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd });
    return { code: 0, output: stdout };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

test('src/ keeps the layer order and has no import cycle, type imports included', async () => {
  const { code, output } = await cruise(ROOT);
  assert.equal(code, 0, output);
  assert.match(output, /no dependency violations found/);
});

test('the rules catch an upward import, a feature importing another, and a type-only cycle', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  const files: Record<string, string> = {
    'src/events/envelope.ts': "import type { Runtime } from '../runtime/types.js';\nexport type E = Runtime;\n",
    'src/runtime/types.ts': 'export interface Runtime { readonly id: string }\n',
    'src/commands/runner.ts': "import { send } from '../webhooks/sender.js';\nexport const run = send;\n",
    'src/webhooks/sender.ts': 'export const send = (): void => undefined;\n',
    'src/hooks/a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
    'src/hooks/b.ts': "import type { A } from './a.js';\nexport interface B { a?: A }\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const { code, output } = await cruise(dir);
  assert.notEqual(code, 0);
  assert.match(output, /layer-events: src\/events\/envelope\.ts → src\/runtime\/types\.ts/);
  assert.match(output, /feature-commands: src\/commands\/runner\.ts → src\/webhooks\/sender\.ts/);
  assert.match(output, /no-circular: src\/hooks\/a\.ts/);
});
