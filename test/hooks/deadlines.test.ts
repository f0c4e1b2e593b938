import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Deadlines } from '../../src/hooks/deadlines.js';
import { waitFor } from '../helpers/wait-for.js';

/** Tracks a call and resolves with 'timeout' when its onTimeout runs. */
function timedOut(deadlines: Deadlines, ms: number, name: string): { item: ReturnType<Deadlines['track']>; fired: Promise<string> } {
  let fire!: (name: string) => void;
  const fired = new Promise<string>((resolve) => (fire = resolve));
  const item = deadlines.track(ms, (owner: string) => fire(`${owner}:timeout`), name);
  return { item, fired };
}

test('a call settled in time never times out, and settle() says it was in time', async () => {
  const deadlines = new Deadlines();
  let fired = false;
  const item = deadlines.track(10, () => (fired = true), undefined);
  assert.equal(deadlines.settle(item), true);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fired, false);
  assert.equal(deadlines.settle(item), false, 'a second settle is refused');
});

test('a call that does not settle gets its onTimeout, with its owner, once', async () => {
  const deadlines = new Deadlines();
  const calls: string[] = [];
  deadlines.track(15, (owner: string) => calls.push(owner), 'slow');
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(calls, ['slow']);
});

test('with many calls of one length, only the unsettled ones time out, later ones after theirs', async () => {
  const deadlines = new Deadlines();
  const order: string[] = [];
  const track = (name: string) => deadlines.track(20, (owner: string) => order.push(owner), name);
  track('a');
  const b = track('b');
  const c = track('c');
  assert.equal(deadlines.settle(b), true);
  assert.equal(deadlines.settle(c), true);
  await new Promise((r) => setTimeout(r, 5));
  track('d');
  await waitFor(() => order.length >= 2, { what: 'both unsettled calls to time out' });
  assert.deepEqual(order, ['a', 'd']);
});

test('a late settle after the timeout is refused (the answer is to be ignored)', async () => {
  const deadlines = new Deadlines();
  const late = timedOut(deadlines, 10, 'late');
  await late.fired;
  assert.equal(deadlines.settle(late.item), false);
});

/** Active timers that keep the process alive (unref'd ones are not listed). */
const refedTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('thousands of quick calls leave nothing pending', async () => {
  const deadlines = new Deadlines();
  const timersBefore = refedTimers();
  for (let i = 0; i < 5000; i++) {
    const item = deadlines.track(60_000, () => assert.fail('no call should time out'), i);
    // It was there: tracked, pending, and its timer holds the process while it runs.
    assert.equal(deadlines.pending, 1);
    assert.equal(deadlines.holdsProcess, true);
    if (i === 0) assert.equal(refedTimers(), timersBefore + 1, 'one timer for the 60 s length, referenced while a call is pending');
    await Promise.resolve();
    assert.equal(deadlines.settle(item), true);
  }
  assert.equal(deadlines.pending, 0, 'no call left pending');
  // The 60 s timer stays armed (no clearTimeout per call) but unref'd: it does not hold the process.
  assert.equal(deadlines.holdsProcess, false);
  assert.equal(refedTimers(), timersBefore, 'no referenced timer left behind');
});

test('pending counts the calls still running across lengths; a timed-out call leaves the count', async () => {
  const deadlines = new Deadlines();
  const a = deadlines.track(60_000, () => undefined, 'a');
  const b = deadlines.track(60_000, () => undefined, 'b');
  const quick = timedOut(deadlines, 5, 'quick');
  assert.equal(deadlines.pending, 3);
  assert.equal(deadlines.settle(a), true);
  assert.equal(deadlines.pending, 2);
  assert.equal(await quick.fired, 'quick:timeout');
  assert.equal(deadlines.pending, 1, 'only "b" is still pending');
  assert.equal(deadlines.holdsProcess, true, 'the 60 s timer holds the process while "b" runs');
  assert.equal(deadlines.settle(b), true);
  assert.equal(deadlines.pending, 0);
  assert.equal(deadlines.holdsProcess, false);
});

test('keepAlive: false never refs the timer, and calls still time out', async () => {
  const before = refedTimers();
  const kept = new Deadlines();
  const keptItem = kept.track(60_000, () => assert.fail('settled first'), 'kept');
  assert.equal(refedTimers(), before + 1, 'by default a pending call keeps the process alive');
  kept.settle(keptItem);
  assert.equal(refedTimers(), before);

  const deadlines = new Deadlines({ keepAlive: false });
  const item = deadlines.track(60_000, () => assert.fail('settled first'), 'idle');
  deadlines.track(60_000, () => assert.fail('settled first'), 'again');
  assert.equal(refedTimers(), before, 'a pending call does not keep the process alive');
  deadlines.settle(item);
  const late: string[] = [];
  deadlines.track(10, (owner: string) => late.push(owner), 'late');
  assert.equal(refedTimers(), before);
  // waitFor's own timer keeps the test alive meanwhile: the queue's does not.
  await waitFor(() => late.length > 0, { what: 'the unref\'d call to time out' });
  assert.deepEqual(late, ['late']);
});

test('a call longer than the longest Node timer arms a capped timer (no TimeoutOverflowWarning)', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => {
    if (warning.name === 'TimeoutOverflowWarning') warnings.push(warning);
  };
  process.on('warning', onWarning);
  try {
    const deadlines = new Deadlines({ keepAlive: false });
    const fired: string[] = [];
    const item = deadlines.track(3_000_000_000, (owner: string) => fired.push(owner), 'long');
    // The warning is emitted on the next tick after an overlong timer is made.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
    assert.deepEqual(fired, []);
    assert.equal(deadlines.settle(item), true, 'still pending: it did not time out early');
  } finally {
    process.off('warning', onWarning);
  }
});

/** A full collection on demand (the flag can be set at run time; the function comes from a new context). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Whether `ref`'s target is collected within a few full collections (a WeakRef's target lives to the end of the turn it was read in). */
async function collected(ref: WeakRef<object>, gc: () => void): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

test('a settled call is not kept alive by its queue: its owner is let go of once the queue is past it', async () => {
  const gc = collector();
  const deadlines = new Deadlines({ keepAlive: false });
  const refs: Array<WeakRef<object>> = [];
  // Settled while a later call is still pending (the queue keeps its array) ...
  let first: object | undefined = { name: 'first' };
  refs.push(new WeakRef(first));
  let item: ReturnType<Deadlines['track']> | undefined = deadlines.track(60_000, () => assert.fail('no timeout'), first);
  const pending = deadlines.track(60_000, () => assert.fail('no timeout'), { name: 'pending' });
  assert.equal(deadlines.settle(item), true);
  first = undefined;
  item = undefined;
  // ... and settled last, emptying the queue (its array kept for the next calls).
  let last: object | undefined = { name: 'last' };
  refs.push(new WeakRef(last));
  item = deadlines.track(60_000, () => assert.fail('no timeout'), last);
  assert.equal(deadlines.settle(pending), true);
  assert.equal(deadlines.settle(item), true);
  last = undefined;
  item = undefined;
  assert.equal(deadlines.pending, 0);
  assert.equal(await collected(refs[0] as WeakRef<object>, gc), true, 'the first call, settled behind a pending one, is let go of');
  assert.equal(await collected(refs[1] as WeakRef<object>, gc), true, 'the last call, settled when the queue emptied, is let go of');
});

test('a call that timed out is not kept alive by its queue either', async () => {
  const gc = collector();
  const deadlines = new Deadlines({ keepAlive: false });
  let owner: object | undefined = { name: 'slow' };
  const ref = new WeakRef(owner);
  let fired = false;
  deadlines.track(5, () => (fired = true), owner);
  owner = undefined;
  await waitFor(() => fired, { what: 'the call to time out' });
  assert.equal(await collected(ref, gc), true);
});

test('trackEntry: the caller\'s own object is the entry; it times out with itself as owner, or settles once, and a settle before tracking does nothing', async () => {
  const deadlines = new Deadlines({ keepAlive: false });
  const timedOutOwners: unknown[] = [];
  class Call {
    settled = true;
    deadline = 0;
    queue: unknown = undefined;
    readonly onTimeout = (owner: Call): void => void timedOutOwners.push(owner);
    constructor(readonly name: string) {}
    get owner(): Call {
      return this;
    }
  }
  const untracked = new Call('untracked');
  assert.equal(deadlines.settle(untracked), false, 'not tracked yet: nothing to settle');
  const quick = new Call('quick');
  const slow = new Call('slow');
  deadlines.trackEntry(20, quick);
  deadlines.trackEntry(20, slow);
  assert.equal(quick.settled, false);
  assert.ok(quick.deadline > 0);
  assert.equal(deadlines.pending, 2);
  assert.equal(deadlines.settle(quick), true);
  assert.equal(deadlines.settle(quick), false, 'a second settle is refused');
  await waitFor(() => timedOutOwners.length === 1, { what: 'the slow call to time out' });
  assert.deepEqual(timedOutOwners, [slow]);
  assert.equal(deadlines.settle(slow), false, 'a settle after its timeout is refused');
  assert.equal(deadlines.pending, 0);
  // Tracked with plain calls in the same queue, in arrival order.
  const order: string[] = [];
  const entry = new Call('entry');
  deadlines.track(20, (owner: string) => order.push(owner), 'plain');
  deadlines.trackEntry(20, entry);
  await waitFor(() => timedOutOwners.length === 2, { what: 'both to time out' });
  assert.deepEqual(order, ['plain']);
  assert.equal(timedOutOwners[1], entry);
});

test('overdue: a tracked call past its deadline before its timer has run; not before, nor once settled or timed out', (t) => {
  let now = 1000;
  t.mock.method(performance, 'now', () => now);
  const deadlines = new Deadlines({ keepAlive: false });
  const answered = deadlines.track(50, () => assert.fail('never times out'), undefined);
  const other = deadlines.track(50, () => assert.fail('never times out'), undefined);
  now = 1049;
  assert.equal(deadlines.overdue(answered), false);
  now = 1050;
  // Its timer (real, 50 ms) has not run: the clock alone says it is late.
  assert.equal(deadlines.overdue(answered), true);
  assert.equal(deadlines.settle(answered), true);
  assert.equal(deadlines.overdue(answered), false, 'settled: nothing is overdue');
  assert.equal(deadlines.settle(other), true);
});
