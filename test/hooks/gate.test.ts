import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allow, createHost, deny, handled, HookTimeoutError, silentLogger } from '../../src/index.js';
import { Gates } from '../../src/hooks/gate.js';
import { Monitor, type MonitoringPoint } from '../../src/hooks/monitor.js';
import { captureLogger } from '../helpers/capture-logger.js';

test('with no gates, or only allowing gates, the verdict is allow', async () => {
  const gates = new Gates(silentLogger());
  gates.declare('pre-upload');
  assert.deepEqual(await gates.run('pre-upload', {}), { verdict: 'allow' });
  gates.register('pre-upload', () => undefined);
  gates.register('pre-upload', () => true);
  gates.register('pre-upload', () => allow());
  gates.register('pre-upload', async () => allow());
  assert.deepEqual(await gates.run('pre-upload', {}), { verdict: 'allow' });
});

test('gates run in registration order, then by `order`; the first deny wins and later gates do not run', async () => {
  const gates = new Gates(silentLogger());
  const ran: string[] = [];
  gates.register('pre-upload', () => void ran.push('b'), { name: 'b' });
  gates.register('pre-upload', () => void ran.push('early'), { name: 'early', order: -10 });
  gates.register(
    'pre-upload',
    (ctx: { path: string }) => {
      ran.push('c');
      return ctx.path.endsWith('.exe') ? deny('executables are not allowed') : undefined;
    },
    { name: 'c' },
  );
  gates.register('pre-upload', () => void ran.push('d'), { name: 'd' });
  gates.register('pre-upload', () => void ran.push('late'), { name: 'late', order: 10 });

  assert.deepEqual(await gates.run('pre-upload', { path: '/a.txt' }), { verdict: 'allow' });
  assert.deepEqual(ran, ['early', 'b', 'c', 'd', 'late']);
  ran.length = 0;
  assert.deepEqual(await gates.run('pre-upload', { path: '/a.exe' }), {
    verdict: 'deny',
    reason: 'executables are not allowed',
    by: 'c',
  });
  assert.deepEqual(ran, ['early', 'b', 'c']);
});

test('handled wins like a deny: the hook did the work, skip the action', async () => {
  const gates = new Gates(silentLogger());
  let after = false;
  gates.register('pre-delete', async () => handled('moved to the trash'), { name: 'trash' });
  gates.register('pre-delete', () => void (after = true));
  assert.deepEqual(await gates.run('pre-delete', {}), { verdict: 'handled', reason: 'moved to the trash', by: 'trash' });
  assert.equal(after, false);
  gates.register('pre-other', () => handled(), { name: 'quiet' });
  assert.deepEqual(await gates.run('pre-other', {}), { verdict: 'handled', by: 'quiet' });
});

test('returning false denies with a default reason naming the gate', async () => {
  const gates = new Gates(silentLogger());
  gates.register('pre-login', () => false, { name: 'ip-filter' });
  assert.deepEqual(await gates.run('pre-login', {}), { verdict: 'deny', reason: 'Denied by gate "ip-filter"', by: 'ip-filter' });
});

test('a gate that throws or rejects denies (fail-closed), with the error in the reason, and is logged', async () => {
  const logger = captureLogger();
  const gates = new Gates(logger);
  gates.register(
    'pre-upload',
    () => {
      throw new Error('quota service down');
    },
    { name: 'quota' },
  );
  let later = false;
  gates.register('pre-upload', () => void (later = true));
  const decision = await gates.run('pre-upload', {});
  assert.equal(decision.verdict, 'deny');
  assert.equal(decision.by, 'quota');
  assert.match(decision.reason ?? '', /quota service down/);
  assert.equal(later, false);
  assert.equal(logger.lines[0]?.level, 'warn');
  assert.equal((logger.lines[0]?.obj['err'] as Error).message, 'quota service down');

  const async = new Gates(silentLogger());
  async.register('pre-upload', async () => Promise.reject(new Error('nope')), { name: 'a' });
  assert.equal((await async.run('pre-upload', {})).verdict, 'deny');
});

test('a gate that returns something unexpected denies (fail-closed)', async () => {
  const gates = new Gates(silentLogger());
  gates.register('p', () => 'yes' as unknown as boolean, { name: 'odd' });
  const decision = await gates.run('p', {});
  assert.equal(decision.verdict, 'deny');
  assert.match(decision.reason ?? '', /return allow\(\), deny\(reason\), handled\(\) or a boolean/);
  const verdict = new Gates(silentLogger());
  verdict.register('p', () => ({ verdict: 'maybe' }) as never, { name: 'odd' });
  assert.equal((await verdict.run('p', {})).verdict, 'deny');
});

test('on a fail-open point a failing gate is skipped and the next gates decide', async () => {
  const gates = new Gates(silentLogger());
  gates.declare('post-upload-scan', { failOpen: true });
  gates.register('post-upload-scan', () => {
    throw new Error('scanner offline');
  });
  assert.deepEqual(await gates.run('post-upload-scan', {}), { verdict: 'allow' });
  gates.register('post-upload-scan', () => deny('infected'), { name: 'av' });
  assert.deepEqual(await gates.run('post-upload-scan', {}), { verdict: 'deny', reason: 'infected', by: 'av' });
});

test('each gate has a timeout: a gate that takes too long denies, and its abort signal fires', async () => {
  const gates = new Gates(silentLogger());
  gates.declare('pre-upload', { timeoutMs: 30_000 });
  let signal: AbortSignal | undefined;
  gates.register(
    'pre-upload',
    (_ctx: unknown, info) => {
      signal = info.signal;
      assert.equal(info.gate, 'pre-upload');
      return new Promise(() => undefined); // never settles
    },
    { name: 'slow', timeoutMs: 20 },
  );
  const decision = await gates.run('pre-upload', {});
  assert.equal(decision.verdict, 'deny');
  assert.equal(decision.by, 'slow');
  assert.match(decision.reason ?? '', /did not finish within 20 ms/);
  assert.equal(signal?.aborted, true);
  assert.ok(signal?.reason instanceof HookTimeoutError);
});

test('the point-wide timeout applies when a gate gives none; on a fail-open point a timeout is skipped', async () => {
  const gates = new Gates(silentLogger());
  gates.declare('pre-a', { timeoutMs: 15 });
  gates.register('pre-a', () => new Promise(() => undefined), { name: 'hangs' });
  assert.match((await gates.run('pre-a', {})).reason ?? '', /within 15 ms/);
  gates.declare('pre-b', { timeoutMs: 15, failOpen: true });
  gates.register('pre-b', () => new Promise(() => undefined), { name: 'hangs' });
  assert.deepEqual(await gates.run('pre-b', {}), { verdict: 'allow' });
});

test('a gate that finishes in time is not affected by its timeout', async () => {
  const gates = new Gates(silentLogger());
  gates.register('p', async (_ctx: unknown, { signal }) => {
    await new Promise((r) => setImmediate(r));
    return signal.aborted ? deny('aborted') : deny('in time');
  }, { timeoutMs: 10_000 });
  assert.equal((await gates.run('p', {})).reason, 'in time');
});

test('an unknown gate point is an error naming it and the known ones', async () => {
  const gates = new Gates(silentLogger());
  gates.declare('pre-upload');
  await assert.rejects(gates.run('pre-uplaod', {}), { code: 'HKW_ERR_UNKNOWN_HOOK_POINT', message: /"pre-uplaod".*pre-upload/ });
});

test('disposing a gate removes it; its disposer is idempotent', async () => {
  const gates = new Gates(silentLogger());
  const off = gates.register('p', () => deny('x'));
  assert.equal(gates.count('p'), 1);
  off();
  off();
  assert.equal(gates.count('p'), 0);
  assert.deepEqual(await gates.run('p', {}), { verdict: 'allow' });
});

test('registering something that is not a function is refused', () => {
  const gates = new Gates(silentLogger());
  assert.throws(() => gates.register('p', 'nope' as never), { code: 'HKW_ERR_INVALID_ARGUMENT' });
  assert.throws(() => gates.declare(''), { code: 'HKW_ERR_INVALID_ARGUMENT' });
});

test('the gate receives the context; the host names the gate after its scope', async () => {
  const host = createHost({ logger: silentLogger() });
  const seen: unknown[] = [];
  host.scope('plugin:policy').onGate('pre-upload', (ctx) => {
    seen.push(ctx);
    return false;
  });
  const decision = await host.gate('pre-upload', { path: '/x' });
  assert.deepEqual(seen, [{ path: '/x' }]);
  assert.deepEqual(decision, { verdict: 'deny', reason: 'Denied by gate "plugin:policy"', by: 'plugin:policy' });
  await host.close();
});

test('gate runs are monitoring points when someone listens', async () => {
  const monitor = new Monitor({ batchSize: 1 });
  const points: MonitoringPoint[] = [];
  monitor.subscribe((batch) => void points.push(...batch));
  const gates = new Gates(silentLogger(), monitor);
  gates.register('p', () => undefined, { name: 'a' });
  gates.register('p', () => deny('no'), { name: 'b' });
  await gates.run('p', {});
  assert.deepEqual(
    points.map((p) => [p.kind, p.name, p.by, p.outcome]),
    [
      ['gate', 'p', 'a', 'ok'],
      ['gate', 'p', 'b', 'deny'],
    ],
  );
});

test('every gate gets its info, whatever its declared parameter count (wrapped and rest-parameter gates)', async () => {
  const gates = new Gates(silentLogger());
  const seen: Array<[string, boolean]> = [];
  const inner = (_ctx: unknown, info: { gate: string; signal: AbortSignal }) => {
    seen.push([info.gate, info.signal instanceof AbortSignal && !info.signal.aborted]);
    return undefined;
  };
  const wrapped = (...a: [unknown, { gate: string; signal: AbortSignal }]) => inner(...a);
  assert.equal(wrapped.length, 0);
  gates.register('pre-upload', wrapped, { name: 'wrapped' });
  gates.register('pre-upload', function rest(this: unknown, ...args: unknown[]) {
    return inner(args[0], args[1] as { gate: string; signal: AbortSignal });
  });
  gates.register('pre-upload', (ctx: unknown) => inner(ctx, { gate: 'one-param', signal: new AbortController().signal }));
  assert.deepEqual(await gates.run('pre-upload', {}), { verdict: 'allow' });
  assert.deepEqual(seen, [
    ['pre-upload', true],
    ['pre-upload', true],
    ['one-param', true],
  ]);
});

test('a wrapped gate that times out sees its signal aborted, whether it read the signal before or after the timeout', async () => {
  const gates = new Gates(silentLogger());
  let early: AbortSignal | undefined;
  let late: AbortSignal | undefined;
  let lateRead: (() => void) | undefined;
  const slowEarly = (_ctx: unknown, info: { signal: AbortSignal }) => {
    early = info.signal;
    return new Promise<undefined>(() => undefined);
  };
  const slowLate = (_ctx: unknown, info: { signal: AbortSignal }) => {
    lateRead = () => void (late = info.signal);
    return new Promise<undefined>(() => undefined);
  };
  gates.declare('a', { failOpen: true });
  gates.register('a', (...args: [unknown, { signal: AbortSignal }]) => slowEarly(...args), { name: 'early', timeoutMs: 10 });
  gates.register('a', (...args: [unknown, { signal: AbortSignal }]) => slowLate(...args), { name: 'late', timeoutMs: 10 });
  assert.deepEqual(await gates.run('a', {}), { verdict: 'allow' });
  assert.equal(early?.aborted, true);
  assert.ok(early?.reason instanceof HookTimeoutError);
  lateRead?.();
  assert.equal(late?.aborted, true, 'a signal first read after the timeout is already aborted');
  assert.ok(late?.reason instanceof HookTimeoutError);
});

test('a gate may answer with any thenable, not only a native promise', async () => {
  const gates = new Gates(silentLogger());
  const thenable = (value: unknown) => ({ then: (resolve: (v: unknown) => void) => resolve(value) });
  gates.register('p', () => thenable(undefined) as never, { name: 'passes' });
  gates.register('p', () => thenable(deny('not today')) as never, { name: 'thenable' });
  assert.deepEqual(await gates.run('p', {}), { verdict: 'deny', reason: 'not today', by: 'thenable' });

  const rejecting = new Gates(silentLogger());
  rejecting.register('p', () => ({ then: (_r: unknown, reject: (e: Error) => void) => reject(new Error('backend says no')) }) as never, { name: 'r' });
  const decision = await rejecting.run('p', {});
  assert.equal(decision.verdict, 'deny');
  assert.match(decision.reason ?? '', /backend says no/);

  const hanging = new Gates(silentLogger());
  hanging.register('p', () => ({ then: () => undefined }) as never, { name: 'h', timeoutMs: 10 });
  assert.match((await hanging.run('p', {})).reason ?? '', /within 10 ms/);
});
