// Every TypeScript example in the docs compiles against the sources: each
// ```ts / ```typescript block of docs/*.md and README.md is written to its own
// module in a temp folder and the lot is typechecked in one `tsc` run, with
// 'hookwork' mapped to src/index.ts. A block that is deliberately a fragment
// says so on its fence (```ts no-check) and is skipped; keep those few.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * What the examples take as given. The Hookwork objects a page is about
 * (a host, a plugin's scope, a runtime, a plugin context, an event) have
 * their real types, so every call on them is checked. The rest are the
 * reader's own code that the examples call: stand-ins, typed loosely.
 */
const CONTEXT = `
type Patch = { name?: string; role?: string };
interface User { id: string; name: string; password?: string }
interface DocHooks {
  gates: { 'pre-upload': { path: string } };
  changes: { 'agent-status': 'online' | 'away' | 'offline' };
  methods: { 'users.edit': (id: string, patch: Patch) => Promise<User> };
}
declare const host: import('hookwork').Host<DocHooks>;
declare const plugin: ReturnType<typeof host.scope>;
declare const runtime: import('hookwork').Runtime;
declare const ctx: import('hookwork').PluginContext;
declare const event: import('hookwork').HookworkEvent;
declare const eventRecord: Readonly<Record<string, unknown>>;
declare const signal: AbortSignal;
declare const path: string;
declare const file_size: number;
declare const user: string;
declare const callback_url: string;
declare const source: unknown;
declare const roots: object[];
declare function storeFile(path: string): Promise<void>;
declare function removeFile(path: string): Promise<void>;
declare function store(path: string): Promise<void>;
declare function remove(path: string): Promise<void>;
declare function respond(...args: unknown[]): unknown;
declare function audit(...args: unknown[]): unknown;
declare function inOfficeHours(): boolean;
declare const scanner: { check(path: string, options: { signal: AbortSignal }): Promise<{ ok: boolean; name?: string }> };
declare const db: { users: { update(id: string, patch: Patch): Promise<User> } };
`;

interface DocBlock {
  /** Where it starts, as `file:line`. */
  readonly at: string;
  readonly code: string;
  readonly checked: boolean;
}

/** The ```ts / ```typescript blocks of a Markdown text. */
function tsBlocks(file: string, markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const match of markdown.matchAll(/^```(?:ts|typescript)\b([^\n]*)\n([\s\S]*?)^```\s*$/gm)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    blocks.push({ at: `${file}:${line}`, code: match[2] as string, checked: !/\bno-check\b/.test(match[1] as string) });
  }
  return blocks;
}

test('tsBlocks finds ts and typescript fences, their lines, and the no-check mark', () => {
  const md = 'text\n```ts\nconst a = 1;\n```\n```typescript no-check\nfragment(\n```\n```json\n{}\n```\n';
  assert.deepEqual(tsBlocks('x.md', md), [
    { at: 'x.md:2', code: 'const a = 1;\n', checked: true },
    { at: 'x.md:5', code: 'fragment(\n', checked: false },
  ]);
});

test('every TypeScript example in docs/*.md and README.md typechecks against the sources', async () => {
  const files = [...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md'];
  const blocks = files.flatMap((file) => tsBlocks(file, readFileSync(join(ROOT, file), 'utf8')));
  const checked = blocks.filter((b) => b.checked);
  assert.ok(checked.length >= 20, `found ${checked.length} checked blocks`);
  assert.ok(blocks.length - checked.length <= 3, `at most a few no-check blocks: ${blocks.filter((b) => !b.checked).map((b) => b.at).join(', ')}`);

  // Inside the repo, so the examples' own imports (zod, node types) resolve as the sources' do.
  const dir = mkdtempSync(join(ROOT, 'test', '.docs-check-'));
  try {
    const names = new Map<string, string>();
    checked.forEach((block, i) => {
      const name = `block-${i}.ts`;
      names.set(name, block.at);
      // `export {}` keeps each block its own module (top-level await, no clashes between blocks).
      writeFileSync(join(dir, name), `${block.code}\nexport {};\n`);
    });
    writeFileSync(join(dir, 'context.d.ts'), CONTEXT);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        // A doc's example shows a value the reader goes on to use: unused locals are not a fault there.
        compilerOptions: {
          noEmit: true,
          noUnusedLocals: false,
          paths: { hookwork: [join(ROOT, 'src/index.ts')], 'hookwork/*': [join(ROOT, 'src/entry/*.ts')] },
        },
        include: ['*.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir }).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    // Name the doc and line of each error, not the temp file.
    const errors = result.replace(/(?:^|\n)(?:.*[/\\])?(block-\d+\.ts)\((\d+),(\d+)\)/g, (_m, name: string, line: string, col: string) => {
      return `\n${names.get(name) ?? name} (+${Number(line) - 1} lines, col ${col})`;
    });
    assert.equal(errors.trim(), '', 'docs examples that do not compile');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
