// Runs the README's embedding example exactly as written (between the
// readme-example markers), with `hookwork` pointing at src/, and checks that
// what it prints matches its `// → …` comments, in order.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');

test('the README embedding example runs and prints what its comments say', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- readme-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- readme-example:end -->/.exec(readme);
  assert.ok(block, 'README.md has the marked example');
  const code = (block[1] as string).replace(/from 'hookwork'/g, `from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/index.ts')).href)}`);
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => (m[1] as string).trim());
  assert.ok(expected.length >= 5);

  // Inside the repo (not /tmp) so tsx compiles it with the project's settings.
  const dir = await mkdtemp(join(ROOT, 'test', '.readme-'));
  const file = join(dir, 'example.ts');
  await writeFile(file, code);
  const printed: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = original;
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(printed, expected);
});
