import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempConfigDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// `--import tsx` resolves from the working directory; name the loader by path
// so the CLI can run from a config's own folder.
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function hookwork(args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      ['--import', TSX, fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), ...args],
      { cwd, env: { ...process.env, HOOKWORK_LOG_LEVEL: 'silent' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

test('hookwork validate PATH: a good config prints OK and exits 0', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('a.yaml', 'events:\n  - { id: "1", name: one }\n  - { id: "2", name: two }\n');
  write('b.ini', '[event-handlers/u-1]\ntype = extension\nname = h\nentry_point = demo.H\n');
  // The entry point is import-checked: a TypeScript module, in a folder inside no package.
  write('extensions/demo.ts', 'export class H { static handle(event: unknown): null { return null; } }\n');
  const run = await hookwork(['validate', dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^OK: 2 files valid \(2 events, 1 handler, 0 webhooks, 0 gates\)\.\n$/);
});

test('hookwork validate PATH: every problem on its own line as file: key: message, exit 1', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const a = write('a.yaml', 'server:\n  port: high\n  colour: blue\n');
  const b = write('b.yaml', 'events:\n  - { id: "9", name: nine, message: "{{nope}}" }\n');
  const c = write('c.json', '{ "strict": tru }');
  const run = await hookwork(['validate', dir], dir);
  assert.equal(run.code, 1);
  const lines = run.stdout.trimEnd().split('\n');
  const rel = (file: string): string => relative(dir, file);
  assert.equal(lines.length, 4, run.stdout);
  assert.ok(lines.some((l) => l.startsWith(`${rel(c)}: (root): JSON syntax error`)), run.stdout);
  assert.ok(lines.includes(`${rel(a)}: server.port: Invalid input: expected number, received string`), run.stdout);
  assert.ok(lines.some((l) => l.startsWith(`${rel(a)}: server.colour: unknown key "colour"`)), run.stdout);
  assert.ok(lines.some((l) => l.startsWith(`${rel(b)}: events.0.message: unknown placeholder {{nope}}`)), run.stdout);
  assert.match(run.stderr, /The config was refused: 4 problems\./);
});

test('hookwork validate on a missing path fails with the path named', async (t) => {
  const { dir } = tempConfigDir(t);
  const run = await hookwork(['validate', `${dir}/nope.yaml`]);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /nope\.yaml: \(root\): the config path does not exist/);
});

test('hookwork validate with no path checks the embedded default config', async () => {
  const run = await hookwork(['validate']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^OK: 1 file valid \(\d+ events, 0 handlers, 0 webhooks, \d+ gates\)\./);
});

test('hookwork validate PATH reads webhooks_path: a bad entry there is listed with its file and key, exit 1', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('config/main.yaml', 'events:\n  - { id: "1", name: create_user }\nwebhooks_path: ../hooks.d\n');
  const hooks = write('hooks.d/a.yaml', 'webhooks:\n  - { name: "", action: no_such_action, method: FETCH, url: "x" }\n');
  const bad = await hookwork(['validate', `${dir}/config`], dir);
  assert.equal(bad.code, 1, bad.stdout);
  const rel = relative(dir, hooks);
  for (const key of ['name', 'action', 'method', 'url']) {
    assert.ok(bad.stdout.split('\n').some((l) => l.startsWith(`${rel}: webhooks.0.${key}: `)), bad.stdout);
  }
  write('hooks.d/a.yaml', 'webhooks:\n  - { name: ok, action: create_user, method: POST, url: "https://e.example/a" }\n');
  const good = await hookwork(['validate', `${dir}/config`], dir);
  assert.equal(good.code, 0, good.stdout);
  assert.match(good.stdout, /^OK: 2 files valid \(1 event, 0 handlers, 1 webhook, 0 gates\)\.\n$/);
});

test('hookwork validate: a duplicate event id is an error, exit 1', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('a.yaml', 'events:\n  - { id: "1", name: one }\n');
  write('b.yaml', 'events:\n  - { id: "1", name: uno }\n');
  const run = await hookwork(['validate', dir], dir);
  assert.equal(run.code, 1, run.stdout);
  assert.equal(run.stdout, 'b.yaml: events.0.id: the event id "1" is already declared at a.yaml: events.0.id; an id may be declared once (the second would replace the first): remove one, or give it another id\n');
});

test('hookwork validate import-checks entry points: a missing module and one that throws on import are listed by key, exit 1', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write(
    'config.yaml',
    [
      'handlers:',
      '  - { type: extension, name: gone, entry_point: "nowhere.ts#Handler" }',
      '  - { type: extension, name: throws, entry_point: "throws.ts#Handler" }',
      '  - { type: extension, name: good, entry_point: "good.mjs#Handler" }',
      '',
    ].join('\n'),
  );
  write('extensions/throws.ts', "throw new Error('broken on import');\nexport class Handler { static handle() { return null; } }\n");
  write('extensions/good.mjs', 'export class Handler { static handle() { return null; } }\n');
  const run = await hookwork(['validate', dir]);
  assert.equal(run.code, 1, run.stdout);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 2, run.stdout);
  assert.match(lines[0] ?? '', /^handlers\.0\.entry_point: cannot load "nowhere\.ts#Handler": .*no module found/);
  assert.match(lines[1] ?? '', /^handlers\.1\.entry_point: cannot load "throws\.ts#Handler": .*broken on import/);
  assert.match(run.stderr, /The config was refused: 2 problems\./);
});

test('hookwork validate import-checks active plugins: one that throws on import and one that is missing are listed by key, exit 1', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('config.yaml', 'plugins:\n  active: [fine, broken, absent]\n');
  write('plugins/fine.ts', "export const plugin = { name: 'fine', version: '1', setup(): void {} };\n");
  write('plugins/broken.mjs', "throw new Error('plugin broken on import');\n");
  const run = await hookwork(['validate', dir]);
  assert.equal(run.code, 1, run.stdout);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 2, run.stdout);
  assert.match(lines[0] ?? '', /^plugins\.active\.1: cannot load plugin "broken": .*plugin broken on import/);
  assert.match(lines[1] ?? '', /^plugins\.active\.2: cannot load plugin "absent": no plugin of that name/);
});

test('hookwork validate: a condition on a data member the event schema lacks is a warning (printed, exit 0)', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write(
    '10-events.yaml',
    'events:\n  - { id: "30001", name: upload, data_schema: { type: object, properties: { path: { type: string }, file_size: { type: integer } } } }\n',
  );
  write(
    '20-handlers.yaml',
    [
      'handlers:',
      '  - type: webhook',
      '    name: big',
      '    url: https://e.example/x',
      '    actions: [upload]',
      '    conditions: { file_size: { gt: 1048576 }, file_name: { ne: x }, "account.groups": { in: [admins] }, not: { fsize: { lt: 5 } } }',
      '',
    ].join('\n'),
  );
  const run = await hookwork(['validate', dir]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 2, run.stdout);
  assert.match(
    lines[0] ?? '',
    /^warning: .*20-handlers\.yaml: handlers\.0\.conditions\.not\.fsize: event 30001 \(upload\) declares no data member "fsize" in its data_schema \(it has: path, file_size, file_name, directory_name\); this condition never matches it$/,
  );
  assert.match(lines[1] ?? '', /^OK: 2 files valid/);
});
