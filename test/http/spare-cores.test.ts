import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { availableParallelism } from 'node:os';
import { CORES_FOR_THREAD, machineSample, quotaCores, SpareCores, usableCores, type SpareCoresOptions } from '../../src/http/spare-cores.js';

/** A SpareCores on a clock and CPU counters the test moves: `pass(ms, others, own)` lets a window go by. */
function controlled(options: Omit<SpareCoresOptions, 'now' | 'sample'> = {}) {
  let clock = 0;
  let busy = 0;
  let own = 0;
  let attributable = true;
  const changes: Array<[boolean, number]> = [];
  const spare = new SpareCores({
    windowMs: 100,
    ...options,
    now: () => clock,
    sample: () => (attributable ? { machineBusyMs: busy, ownUs: own } : undefined),
    onChange: (hasCore, others) => changes.push([hasCore, Number(others.toFixed(2))]),
  });
  return {
    spare,
    changes,
    /** `ms` pass in which other processes use `others` cores and this one `ownCores`. */
    pass(ms: number, others: number, ownCores = 0): void {
      clock += ms;
      busy += (others + ownCores) * ms;
      own += ownCores * ms * 1000;
    },
    unattributable(): void {
      attributable = false;
    },
  };
}

test('on 2 cores the thread has a core while other processes leave this one 1.5 cores: this process\'s own CPU never counts against it', () => {
  const { spare, changes, pass } = controlled({ cores: 2 });
  // The first call only starts a window: the count of cores decides until one is measured (below 3: the main thread).
  assert.equal(spare.threadHasCore(), false);
  assert.ok(Number.isNaN(spare.othersCores));
  // A quiet machine, this process busy on both cores (main thread and sender thread).
  pass(100, 0.05, 1.9);
  assert.equal(spare.threadHasCore(), true);
  assert.equal(Number(spare.othersCores.toFixed(2)), 0.05);
  // A busy neighbour takes a core: not seen within the window (nothing is measured again there)...
  pass(50, 1, 0);
  assert.equal(spare.threadHasCore(), true);
  // ...but once the window has passed.
  pass(50, 1, 1);
  assert.equal(spare.threadHasCore(), false);
  assert.equal(changes.length, 2);
  assert.deepEqual(changes[0], [true, 0.05]);
  assert.equal(changes[1]?.[0], false);
  // The neighbour stops: the thread gets its core back.
  pass(100, 0, 1.5);
  assert.equal(spare.threadHasCore(), true);
  assert.deepEqual(changes[2], [true, 0]);
});

test('around the line (2 cores: other processes on half a core) the choice needs the load to move 0.1 core past it, so noise does not flip it', () => {
  const { spare, changes, pass } = controlled({ cores: 2 });
  const line = 2 - CORES_FOR_THREAD;
  spare.threadHasCore();
  pass(100, 0);
  assert.equal(spare.threadHasCore(), true);
  pass(100, line + 0.05);
  assert.equal(spare.threadHasCore(), true, 'just over the line: kept');
  pass(100, line + 0.15);
  assert.equal(spare.threadHasCore(), false, 'past the margin: changed');
  pass(100, line - 0.05);
  assert.equal(spare.threadHasCore(), false, 'just under the line: kept');
  pass(100, line - 0.15);
  assert.equal(spare.threadHasCore(), true);
  assert.equal(changes.length, 3);
});

test('one core never gives the thread a core; 16 give it one unless other processes use 14.5 of them', () => {
  const one = controlled({ cores: 1 });
  one.spare.threadHasCore();
  one.pass(100, 0);
  assert.equal(one.spare.threadHasCore(), false);

  const many = controlled({ cores: 16 });
  // By the count (3 or more) before the first window.
  assert.equal(many.spare.threadHasCore(), true);
  many.pass(100, 12);
  assert.equal(many.spare.threadHasCore(), true);
  many.pass(100, 15);
  assert.equal(many.spare.threadHasCore(), false);
});

test('a window after a long idle (no request for over 4 windows) starts anew instead of averaging the idle time in', () => {
  const { spare, pass } = controlled({ cores: 2 });
  spare.threadHasCore();
  pass(100, 0);
  assert.equal(spare.threadHasCore(), true);
  // A busy neighbour for the last 100 ms of 10 s with no request: averaged, 0.01 core; it starts a window instead.
  pass(9900, 0);
  pass(100, 1);
  assert.equal(spare.threadHasCore(), true);
  pass(100, 1);
  assert.equal(spare.threadHasCore(), false, 'the next window measures the neighbour');
});

test('where other processes\' CPU cannot be told apart (os.cpus() lists another set of cores), the count of cores decides', () => {
  const two = controlled({ cores: 2 });
  two.spare.threadHasCore();
  two.pass(100, 0);
  assert.equal(two.spare.threadHasCore(), true);
  two.unattributable();
  two.pass(100, 0);
  assert.equal(two.spare.threadHasCore(), false);
  assert.deepEqual(two.changes.at(-1)?.[0], false);

  const four = controlled({ cores: 4 });
  four.unattributable();
  four.spare.threadHasCore();
  four.pass(100, 3.9);
  assert.equal(four.spare.threadHasCore(), true);
});

test('machineSample reads this machine: this process\'s CPU time counts in its own, and a process spinning on a core shows as another process\'s load', async (t) => {
  const first = machineSample();
  if (first === undefined) {
    // os.cpus() lists other cores than this process may use (a CPU set): by the count, as where it cannot be measured.
    const spare = new SpareCores({ windowMs: 1 });
    assert.equal(spare.threadHasCore(), spare.cores >= 3);
    return;
  }
  const spinUntil = Date.now() + 30;
  while (Date.now() < spinUntil);
  const second = machineSample() as NonNullable<ReturnType<typeof machineSample>>;
  assert.ok(second.ownUs > first.ownUs);
  assert.ok(second.machineBusyMs >= first.machineBusyMs);

  const spinner = spawn(process.execPath, ['-e', 'process.send("ready"); for (;;) {}'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  t.after(() => {
    spinner.kill('SIGKILL');
  });
  await new Promise((resolve) => spinner.once('message', resolve));
  const spare = new SpareCores({ windowMs: 300 });
  spare.threadHasCore();
  while (Number.isNaN(spare.othersCores)) {
    await sleep(100);
    spare.threadHasCore();
  }
  // The spinner alone is a core (less what the scheduler gives others); it counts as another process's.
  assert.ok(spare.othersCores >= 0.5, `others: ${spare.othersCores}`);
  if (spare.cores === 2) assert.equal(spare.threadHasCore(), false);
});

test('a CPU quota (cgroup v2 cpu.max, v1 cfs quota and period) caps the cores counted; none, or an unreadable one, leaves availableParallelism()', () => {
  assert.equal(quotaCores('150000 100000\n'), 1.5);
  assert.equal(quotaCores('max 100000\n'), undefined);
  assert.equal(quotaCores(undefined, '200000\n', '100000\n'), 2);
  assert.equal(quotaCores(undefined, '-1\n', '100000\n'), undefined);
  assert.equal(quotaCores(undefined, undefined, undefined), undefined);
  assert.equal(quotaCores('garbage'), undefined);
  // Here: no more than the cores the process may run on.
  assert.ok(usableCores() <= availableParallelism() && usableCores() > 0);
  // 1.5 cores leave nothing for the thread, however idle the machine.
  let clock = 0;
  const spare = new SpareCores({ cores: 1.5, windowMs: 100, now: () => clock, sample: () => ({ machineBusyMs: 0, ownUs: 0 }) });
  spare.threadHasCore();
  clock = 100;
  assert.equal(spare.threadHasCore(), false);
});
