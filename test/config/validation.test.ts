import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, formatConfigProblem } from '../../src/errors.js';
import { templateProblems } from '../../src/config/checks.js';
import { registerConfigCheck as registerTemplateCheck, runConfigChecks } from '../../src/config/run-checks.js';
import { loadConfig, validateConfigSources } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { tempConfigDir } from './helpers.js';

async function refused(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config was accepted');
}

test('validation is as a whole: every problem of every file is listed, and one bad entry rejects all', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const a = write('a.yaml', [
    'server:',
    '  port: "eighty"',
    '  colour: blue',
    'handlers:',
    '  - type: extension',
    '    name: good',
    '    entry_point: demo.Handler',
    '  - type: carrier-pigeon',
    '    name: bad-type',
  ].join('\n'));
  const b = write('b.json', JSON.stringify({ auth: { tokens: [{ name: 't', role: 'king', token: 'short' }] }, log_level: 'loud' }));
  const err = await refused(loadConfig(dir));
  const byKey = new Map(err.problems.map((p) => [p.key, p]));
  assert.equal(byKey.get('server.port')?.file, a);
  assert.equal(byKey.get('server.colour')?.file, a);
  assert.match(byKey.get('server.colour')?.message ?? '', /unknown key "colour"; allowed keys here: name, uuid, host, port/);
  assert.equal(byKey.get('handlers.1.type')?.file, a);
  assert.match(byKey.get('handlers.1.type')?.message ?? '', /carrier-pigeon/);
  assert.equal(byKey.get('auth.tokens.0.role')?.file, b);
  assert.equal(byKey.get('auth.tokens.0.token')?.file, b);
  assert.match(byKey.get('auth.tokens.0.token')?.message ?? '', /at least 16 characters/);
  assert.equal(byKey.get('log_level')?.file, b);
  assert.ok(err.problems.length >= 6);
  // The message lists them all, one per line, as `file: key: message`.
  for (const problem of err.problems) assert.ok(err.message.includes(formatConfigProblem(problem)));
  assert.deepEqual(err.toJSON()['problems'], err.problems);
});

test('a missing required key says so', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('c.yaml', 'handlers:\n  - type: extension\n    name: no-entry-point\n');
  const err = await refused(loadConfig(file));
  assert.deepEqual(err.problems, [{ file, key: 'handlers.0.entry_point', message: 'is required (expected string)' }]);
});

test('YAML syntax errors are problems with line and column; the other files are still checked', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const broken = write('a.yaml', 'server:\n  port: 8080\n  host: [unclosed\nstrict: true\n');
  const other = write('b.yaml', 'server:\n  nope: 1\n');
  const err = await refused(loadConfig(dir));
  const syntax = err.problems.find((p) => p.file === broken);
  assert.ok(syntax, JSON.stringify(err.problems));
  assert.match(syntax.message, /^YAML syntax error at line \d+, column \d+: /);
  assert.ok(err.problems.some((p) => p.file === other && p.key === 'server.nope'), 'problems of the other files are listed too');
});

test('duplicate keys in one YAML file are a problem', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('dup.yaml', 'strict: true\nstrict: false\n');
  const err = await refused(loadConfig(file));
  assert.equal(err.problems[0]?.file, file);
  assert.match(err.problems[0]?.message ?? '', /line 2, column 1: .*unique/i);
});

test('JSON syntax errors are problems with line and column', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('bad.json', '{\n  "server": {\n    "port": 8080,\n  }\n}\n');
  const err = await refused(loadConfig(file));
  assert.equal(err.problems.length, 1);
  assert.equal(err.problems[0]?.file, file);
  assert.match(err.problems[0]?.message ?? '', /^JSON syntax error at line 4, column 3: /);
});

test('hostile or odd input is a problem, never a crash', async (t) => {
  const { write } = tempConfigDir(t);
  const bomb = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    .concat(['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`))
    .join('\n');
  const bombFile = write('bomb.yaml', `${bomb}\n`);
  const err = await refused(loadConfig(bombFile));
  assert.equal(err.problems[0]?.file, bombFile);
  assert.match(err.problems[0]?.message ?? '', /YAML could not be read/);

  const binary = write('binary.yaml', Buffer.from([0, 1, 2, 255, 254, 10, 0x7b]).toString('latin1'));
  assert.ok((await refused(loadConfig(binary))).problems.length > 0);
  const twoDocs = write('two.yaml', 'strict: true\n---\nstrict: false\n');
  assert.match((await refused(loadConfig(twoDocs))).problems[0]?.message ?? '', /YAML syntax error/);
  const ini = write('odd.ini', '[[[\n=\n;comment\nkey without value\n');
  assert.ok((await refused(loadConfig(ini))).problems.length > 0);
});

test('a file whose top level is not a mapping is a problem', async (t) => {
  const { write } = tempConfigDir(t);
  const list = write('list.yaml', '- a\n- b\n');
  const err = await refused(loadConfig(list));
  assert.match(err.problems[0]?.message ?? '', /top level must be a mapping .* not a list/);
  const scalar = write('scalar.json', '42');
  assert.match((await refused(loadConfig(scalar))).problems[0]?.message ?? '', /not number/);
});

test('unknown placeholders in event message templates are reported with file and key', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('a.yaml', 'events:\n  - { id: "1", name: ok, message: "{{account.name}} put {{DATA.path}} at {{timestamp.iso_8601}}" }\n');
  const b = write('b.yaml', 'events:\n  - { id: "2", name: typo, message: "{{acount.name}} did {{data.x}} {{nope}}" }\n');
  const err = await refused(loadConfig(dir));
  assert.deepEqual(
    err.problems.map((p) => [p.file, p.key, p.message.slice(0, 36)]),
    [
      [b, 'events.0.message', 'unknown placeholder {{acount.name}};'],
      [b, 'events.0.message', 'unknown placeholder {{nope}}; use an'],
    ],
  );
});

test('template problems are listed in the same round as schema problems elsewhere', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const a = write('a.yaml', 'server:\n  port: high\n');
  const b = write('b.yaml', 'events:\n  - { id: "1", name: one, message: "{{nope}}" }\n');
  const err = await refused(loadConfig(dir));
  assert.deepEqual(err.problems.map((p) => [p.file, p.key]), [
    [a, 'server.port'],
    [b, 'events.0.message'],
  ]);
});

test('an unusable data_schema is reported', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('s.yaml', 'events:\n  - id: "1"\n    name: one\n    data_schema: { type: wat }\n');
  const err = await refused(loadConfig(file));
  assert.equal(err.problems[0]?.key, 'events.0.data_schema');
  assert.equal(err.problems[0]?.file, file);
});

test('registerTemplateCheck: subsystem checks run on every load, are attributed to files, and can be removed', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('a.yaml', 'plugins:\n  active: [one]\n');
  const b = write('b.yaml', 'plugins:\n  active: [two]\n');
  const dispose = registerTemplateCheck((config) =>
    config.plugins.active.flatMap((name, i) => (name === 'two' ? [{ key: `plugins.active.${i}`, message: 'two is not allowed' }] : [])),
  );
  const disposeThrowing = registerTemplateCheck(() => {
    throw new Error('boom');
  }, 'exploding-check');
  try {
    const err = await refused(loadConfig(dir));
    // The check names the merged position; the problem is at b.yaml's own.
    assert.deepEqual(err.problems[0], { file: b, key: 'plugins.active.0', message: 'two is not allowed' });
    assert.deepEqual(err.problems[1], { key: '', message: 'the config check "exploding-check" failed: boom' });
  } finally {
    dispose();
    disposeThrowing();
  }
  const loaded = await loadConfig(dir);
  assert.deepEqual(loaded.config.plugins.active, ['one', 'two']);
});

test('templateProblems helps subsystems check their own templates', () => {
  assert.deepEqual(templateProblems({ body: { who: '{{account.name}}', cb: '{{callback_url}}', bad: "'{{x.y}}'" } }, 'webhooks.0.payload', { extra: ['callback_url'] }), [
    { key: 'webhooks.0.payload', message: templateProblems('{{x.y}}', 'k')[0]?.message },
  ]);
  assert.deepEqual(templateProblems('{{output.code}}', 'k', { prefixes: ['data', 'output'] }), []);
  assert.deepEqual(runConfigChecks(configSchema.parse({})), []);
});

test('validateConfigSources validates parsed sources without touching the disk', () => {
  const config = validateConfigSources([
    { file: 'one.yaml', value: { events: [{ id: '1', name: 'a' }] } },
    { file: 'two.yaml', value: { events: [{ id: '2', name: 'b' }] } },
  ]);
  assert.deepEqual(config.events.map((e) => e.id), ['1', '2']);
  assert.throws(
    () => validateConfigSources([{ file: 'one.yaml', value: { events: [{ id: '1' }] } }]),
    (err: unknown) => err instanceof ConfigError && err.problems[0]?.file === 'one.yaml' && err.problems[0]?.key === 'events.0.name',
  );
});

test('a duplicate event id is a problem naming both places, across files and within one file', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const a = write('a.yaml', 'events:\n  - { id: "1", name: one }\n  - { id: "2", name: two }\n');
  const b = write('b.yaml', 'events:\n  - { id: "3", name: three }\n  - { id: 1, name: one-again }\n  - { id: "3", name: three-again }\n');
  const err = await refused(loadConfig(dir));
  assert.deepEqual(
    err.problems.map((p) => [p.file, p.key]),
    [
      [b, 'events.1.id'],
      [b, 'events.2.id'],
    ],
  );
  assert.match(err.problems[0]?.message ?? '', new RegExp(`the event id "1" is already declared at ${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: events\\.0\\.id`));
  assert.match(err.problems[1]?.message ?? '', new RegExp(`the event id "3" is already declared at ${b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: events\\.0\\.id`));
  // Still found while another event fails its schema.
  const c = write('c/one.yaml', 'events:\n  - { id: "7", name: seven }\n  - { id: "7", name: again, colour: red }\n');
  const keys = (await refused(loadConfig(c))).problems.map((p) => p.key).sort();
  assert.deepEqual(keys, ['events.1.colour', 'events.1.id']);
});

test('an event id of the engine (20174, 20200, …) is refused: the engine keeps its own definitions', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('e.yaml', 'events:\n  - { id: 20174, name: my-failure }\n  - { id: "20300", name: fine }\n');
  const err = await refused(loadConfig(file));
  assert.deepEqual(err.problems.map((p) => [p.file, p.key]), [[file, 'events.0.id']]);
  assert.match(err.problems[0]?.message ?? '', /the event id "20174" is reserved for the engine's own events/);
});

test('{{account.token}} in an event message is a problem: messages are rendered without grants', async (t) => {
  const { write } = tempConfigDir(t);
  const file = write('m.yaml', 'events:\n  - { id: "1", name: login, message: "{{account.name}} logged in with {{Account.Token}}" }\n');
  const err = await refused(loadConfig(file));
  assert.equal(err.problems.length, 1, err.message);
  assert.equal(err.problems[0]?.file, file);
  assert.equal(err.problems[0]?.key, 'events.0.message');
  assert.match(err.problems[0]?.message ?? '', /^account\.token is a secret and is never rendered into messages.*grants: \[account\.token\]/);
});
