import assert from 'node:assert/strict';
import { test } from 'node:test';
import { block, ChangeBlockedError, createHost, ExclusiveHookTakenError, silentLogger } from '../../src/index.js';
import { ChangePoints } from '../../src/hooks/change.js';
import { captureLogger } from '../helpers/capture-logger.js';

test('an exclusive point accepts one holder and refuses a second with an error naming the holder', () => {
  const changes = new ChangePoints(silentLogger());
  changes.declare('agent-status', { mode: 'exclusive' });
  changes.hook('agent-status', () => undefined, 'plugin:presence');
  assert.equal(changes.holder('agent-status'), 'plugin:presence');
  assert.throws(
    () => changes.hook('agent-status', () => undefined, 'plugin:other'),
    (err: unknown) => {
      assert.ok(err instanceof ExclusiveHookTakenError);
      assert.equal(err.code, 'HKW_ERR_EXCLUSIVE_HOOK_TAKEN');
      assert.equal(err.holder, 'plugin:presence');
      assert.equal(err.point, 'agent-status');
      assert.match(err.message, /held by "plugin:presence"; "plugin:other" cannot register/);
      return true;
    },
  );
});

test('disposing the holder frees an exclusive point for the next one', async () => {
  const changes = new ChangePoints(silentLogger());
  changes.declare('agent-status', { mode: 'exclusive' });
  const off = changes.hook('agent-status', () => 'A', 'first');
  assert.equal(changes.holder('agent-status'), 'first');
  off();
  off();
  assert.equal(changes.holder('agent-status'), undefined);
  changes.hook('agent-status', () => 'B', 'second');
  assert.deepEqual(await changes.apply('agent-status', 'x', 'y'), { blocked: false, value: 'B' });
});

test('a scope that unloads releases its exclusive hook', async () => {
  const host = createHost({ logger: silentLogger(), changes: { status: { mode: 'exclusive' } } });
  const first = host.scope('plugin:a');
  first.onChange('status', () => 'from-a');
  assert.throws(() => host.scope('plugin:b').onChange('status', () => 'from-b'), /held by "plugin:a"/);
  await first.dispose();
  host.scope('plugin:b').onChange('status', () => 'from-b');
  assert.deepEqual(await host.change('status', 'old', 'new'), { blocked: false, value: 'from-b' });
  await host.close();
});

test('a point with more than one hook cannot become exclusive', () => {
  const changes = new ChangePoints(silentLogger());
  changes.hook('shared', () => undefined, 'a');
  changes.hook('shared', () => undefined, 'b');
  assert.throws(() => changes.declare('shared', { mode: 'exclusive' }), { code: 'HKW_ERR_HOOK_POINT_CONFLICT' });
});

test('a chained point runs its hooks as a waterfall, each seeing the value so far, old and requested', async () => {
  const changes = new ChangePoints(silentLogger());
  const seen: unknown[] = [];
  changes.hook<number>('limit', (c) => {
    seen.push({ ...c });
    return c.value + 1;
  }, 'plus-one');
  changes.hook<number>('limit', () => undefined, 'keeps'); // undefined keeps the value so far
  changes.hook<number>('limit', (c) => c.value * 10, 'times-ten');
  assert.deepEqual(await changes.apply('limit', 5, 7), { blocked: false, value: 80 });
  assert.deepEqual(seen, [{ point: 'limit', old: 5, value: 7, requested: 7 }]);
});

test('returning block(reason) blocks the change and stops the chain; block() defaults to "Blocked by hook"', async () => {
  const changes = new ChangePoints(silentLogger());
  let after = false;
  changes.hook<string>('status', (c) => (c.value === 'offline' ? block('agents stay online in office hours') : undefined), 'policy');
  changes.hook<string>('status', () => void (after = true), 'later');
  assert.deepEqual(await changes.apply('status', 'online', 'offline'), {
    blocked: true,
    reason: 'agents stay online in office hours',
    by: 'policy',
  });
  assert.equal(after, false);

  const plain = new ChangePoints(silentLogger());
  plain.hook('status', () => block(), 'p');
  assert.deepEqual(await plain.apply('status', 1, 2), { blocked: true, reason: 'Blocked by hook', by: 'p' });
  plain.hook('other', async () => block(''), 'q');
  assert.deepEqual(await plain.apply('other', 1, 2), { blocked: true, reason: 'Blocked by hook', by: 'q' });
});

test('throwing ChangeBlockedError blocks, with its reason or the default', async () => {
  const changes = new ChangePoints(silentLogger());
  changes.hook('a', () => {
    throw new ChangeBlockedError('quota exceeded');
  }, 'quota');
  assert.deepEqual(await changes.apply('a', 1, 2), { blocked: true, reason: 'quota exceeded', by: 'quota' });
  changes.hook('b', async () => {
    throw new ChangeBlockedError();
  }, 'any');
  assert.deepEqual(await changes.apply('b', 1, 2), { blocked: true, reason: 'Blocked by hook', by: 'any' });
});

test('any other exception is logged with its stack and the originally requested value is applied', async () => {
  const logger = captureLogger();
  const changes = new ChangePoints(logger);
  changes.hook<string>('status', (c) => `${c.value}-first`, 'first');
  changes.hook<string>('status', () => {
    throw new RangeError('plugin bug');
  }, 'buggy');
  changes.hook<string>('status', () => 'never', 'after');
  assert.deepEqual(await changes.apply('status', 'a', 'requested'), { blocked: false, value: 'requested' });
  const line = logger.lines.find((l) => l.level === 'error');
  assert.ok(line, 'an error was logged');
  assert.match(String(line.obj['stack']), /RangeError: plugin bug\n\s+at /);
  assert.equal((line.obj['err'] as Error).message, 'plugin bug');
  assert.equal(line.obj['by'], 'buggy');
  assert.match(line.msg ?? '', /applying the originally requested value/);
});

test('a rejected promise counts like a throw', async () => {
  const changes = new ChangePoints(captureLogger());
  changes.hook('x', () => Promise.reject(new Error('late bug')), 'p');
  assert.deepEqual(await changes.apply('x', 0, 42), { blocked: false, value: 42 });
});

test('an unknown change point is an error naming it', async () => {
  const changes = new ChangePoints(silentLogger());
  await assert.rejects(changes.apply('nothing', 1, 2), { code: 'HKW_ERR_UNKNOWN_HOOK_POINT', message: /"nothing"/ });
});

test('a point with no hooks applies the value as requested', async () => {
  const host = createHost({ logger: silentLogger(), changes: { 'shared-data': {} } });
  assert.deepEqual(await host.change('shared-data', { a: 1 }, { a: 2 }), { blocked: false, value: { a: 2 } });
  await host.close();
});
