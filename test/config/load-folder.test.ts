import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadConfig } from '../../src/config/load.js';
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

const handler = (name: string, extra = ''): string =>
  `  - type: extension\n    name: ${name}\n    entry_point: demo.Handler\n${extra}`;

test('a folder merges its files in name order: lists concatenated, sections merged', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const b = write('20-more.yml', `server:\n  port: 9001\nhandlers:\n${handler('h3')}events:\n  - { id: "2", name: two }\n`);
  const a = write('10-base.yaml', `server:\n  name: merged\nhandlers:\n${handler('h1')}${handler('h2')}events:\n  - { id: "1", name: one }\n`);
  const c = write('30-extra.json', JSON.stringify({ plugins: { active: ['p1'] }, events: [{ id: '3', name: 'three' }] }));
  const d = write('40-last.ini', '[plugins]\nactive = p2, p3\n');
  write('.hidden.yaml', 'server: { port: 1 }\n');
  write('README.md', '# not a config file\n');
  write('notes.txt', 'nor this');
  write('sub/nested.yaml', 'server: { port: 2 }\n');

  const loaded = await loadConfig(dir);
  assert.deepEqual(loaded.files, [a, b, c, d]);
  assert.equal(loaded.baseDir, dir);
  assert.equal(loaded.config.server.name, 'merged');
  assert.equal(loaded.config.server.port, 9001);
  assert.deepEqual(loaded.config.handlers.map((h) => h.name), ['h1', 'h2', 'h3']);
  assert.deepEqual(loaded.config.events.map((e) => e.id), ['1', '2', '3']);
  assert.deepEqual(loaded.config.plugins.active, ['p1', 'p2', 'p3']);
});

test('a value set in two files is a problem naming both files', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const a = write('a.yaml', 'server:\n  port: 9001\nstrict: true\n');
  const b = write('b.yaml', 'server:\n  port: 9002\nstrict: true\n');
  const err = await refused(loadConfig(dir));
  const port = err.problems.find((p) => p.key === 'server.port');
  assert.ok(port, 'server.port is reported');
  assert.equal(port.file, b);
  assert.ok(port.message.includes(a), `the message names the other file: ${port.message}`);
  const strict = err.problems.find((p) => p.key === 'strict');
  assert.ok(strict, 'the same value twice is still a problem');
  assert.ok(err.message.includes(a) && err.message.includes(b));
});

test('a list in one file and a section in another is a problem', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('a.yaml', 'handlers: []\n');
  const b = write('b.yaml', 'handlers:\n  x: 1\n');
  const err = await refused(loadConfig(dir));
  assert.equal(err.problems[0]?.file, b);
  assert.equal(err.problems[0]?.key, 'handlers');
  assert.match(err.problems[0]?.message ?? '', /a section here but a list in/);
});

test('a problem deep in a merged list is attributed to the file that contributed the entry, at its own position there', async (t) => {
  const { dir, write } = tempConfigDir(t);
  const a = write('a.yaml', `handlers:\n${handler('ok-1')}${handler('ok-2')}`);
  const b = write('b.yaml', `handlers:\n${handler('ok-3')}  - type: extension\n    name: broken\n    entry_point: demo.Handler\n    enabled: maybe\n`);
  const c = write('c.yaml', 'events:\n  - { id: "1", name: one, colour: red }\n');
  const err = await refused(loadConfig(dir));
  // The fourth handler after merging is the second of b.yaml.
  const enabled = err.problems.find((p) => p.key === 'handlers.1.enabled');
  assert.ok(enabled, JSON.stringify(err.problems));
  assert.equal(enabled.file, b);
  const colour = err.problems.find((p) => p.key === 'events.0.colour');
  assert.ok(colour);
  assert.equal(colour.file, c);
  assert.ok(!err.problems.some((p) => p.file === a), 'the good file is not blamed');
});

test('an empty folder is a problem', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('README.md', 'no config here');
  const err = await refused(loadConfig(dir));
  assert.equal(err.problems[0]?.file, dir);
  assert.match(err.problems[0]?.message ?? '', /holds no config file/);
});
