import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HookTimeoutError } from '../../src/errors.js';
import { Deadlines } from '../../src/hooks/deadlines.js';

const never = (): Promise<never> => new Promise(() => undefined);

test('a call that settles in time settles like its promise', async () => {
  const deadlines = new Deadlines();
  assert.equal(await deadlines.race(Promise.resolve(7), 1000, 'x'), 7);
  await assert.rejects(deadlines.race(Promise.reject(new Error('own')), 1000, 'x'), /own/);
});

test('a call that does not settle rejects with HookTimeoutError and aborts its controller', async () => {
  const deadlines = new Deadlines();
  const controller = new AbortController();
  await assert.rejects(deadlines.race(never(), 15, 'Gate "slow"', controller), (err: unknown) => {
    assert.ok(err instanceof HookTimeoutError);
    assert.equal(err.message, 'Gate "slow" did not finish within 15 ms.');
    return true;
  });
  assert.equal(controller.signal.aborted, true);
});

test('with many calls of one length, only the unsettled ones time out, later ones after theirs', async () => {
  const deadlines = new Deadlines();
  const results: string[] = [];
  let release!: (v: string) => void;
  const released = new Promise<string>((r) => (release = r));
  const calls = [
    deadlines.race(never(), 20, 'a').catch(() => 'a:timeout'),
    deadlines.race(released, 20, 'b').catch(() => 'b:timeout'),
    deadlines.race(Promise.resolve('c:ok'), 20, 'c'),
  ];
  release('b:ok');
  await new Promise((r) => setTimeout(r, 5));
  calls.push(deadlines.race(never(), 20, 'd').catch(() => 'd:timeout'));
  for (const call of calls) results.push(await call);
  assert.deepEqual(results, ['a:timeout', 'b:ok', 'c:ok', 'd:timeout']);
});

test('a late settle after the timeout changes nothing', async () => {
  const deadlines = new Deadlines();
  let resolve!: (v: number) => void;
  const late = new Promise<number>((r) => (resolve = r));
  const raced = deadlines.race(late, 10, 'late');
  await assert.rejects(raced, HookTimeoutError);
  resolve(1);
  await late;
});

test('thousands of quick calls leave nothing pending', async () => {
  const deadlines = new Deadlines();
  for (let i = 0; i < 5000; i++) await deadlines.race(Promise.resolve(i), 60_000, 'quick');
  // The 60 s timer is unref'd once idle: this test file finishing proves it does not hold the process.
});
