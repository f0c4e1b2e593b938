// The scheduler on a fake clock and a memory store: which ticks fire, in which
// time zone, what a restart after downtime does (catch_up), pausing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../src/delivery/memory-store.js';
import { silentLogger } from '../../src/logger.js';
import { scheduleSchema, type ScheduleConfig } from '../../src/schedules/config-schema.js';
import { Scheduler } from '../../src/schedules/scheduler.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait-for.js';

interface Fired {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

function schedule(over: Record<string, unknown>): ScheduleConfig {
  return scheduleSchema.parse({ name: 'nightly', cron: '0 * * * *', event: 'report', ...over });
}

function start(clock: FakeClock, store: MemoryStore, schedules: ScheduleConfig[], nodeId = 'n1') {
  const fired: Fired[] = [];
  const scheduler = new Scheduler({
    schedules,
    store,
    nodeId,
    clock,
    logger: silentLogger(),
    emit: async (event, data) => void fired.push({ event, data }),
  });
  const firedAt = () => fired.map((f) => (f.data['schedule'] as { fired_at: string }).fired_at);
  return { scheduler, fired, firedAt, started: scheduler.start() };
}

/** Waits until the clock holds a timer for `iso` (the scheduler re-arms after the store answers). */
const armedFor = (clock: FakeClock, iso: string) => waitFor(() => clock.nextAt() === Date.parse(iso), { what: `a timer for ${iso} (have ${clock.waiting().join(', ')})` });

test('a schedule fires its event at each cron tick, with its data, name and the tick time; not before', async () => {
  const clock = new FakeClock('2024-06-01T10:07:00Z');
  const s = start(clock, new MemoryStore(), [schedule({ cron: '*/15 * * * *', data: { kind: 'sweep' } })]);
  await s.started;
  await armedFor(clock, '2024-06-01T10:15:00.000Z');
  clock.advanceTo('2024-06-01T10:14:59.999Z');
  assert.equal(s.fired.length, 0);
  clock.advanceTo('2024-06-01T10:15:00Z');
  await waitFor(() => s.fired.length === 1);
  assert.deepEqual(s.fired[0], { event: 'report', data: { kind: 'sweep', schedule: { name: 'nightly', fired_at: '2024-06-01T10:15:00.000Z' } } });
  await armedFor(clock, '2024-06-01T10:30:00.000Z');
  clock.advanceTo('2024-06-01T10:30:00Z');
  await waitFor(() => s.fired.length === 2);
  assert.deepEqual(s.firedAt(), ['2024-06-01T10:15:00.000Z', '2024-06-01T10:30:00.000Z']);
  await s.scheduler.close();
  assert.equal(clock.nextAt(), undefined, 'close() cancels the next tick');
});

test('the timezone is honoured: 09:00 Europe/Prague is 07:00 UTC in summer and 08:00 in winter; without one, UTC', async () => {
  for (const [now, prague] of [
    ['2024-06-01T00:00:00Z', '2024-06-01T07:00:00.000Z'],
    ['2024-01-15T00:00:00Z', '2024-01-15T08:00:00.000Z'],
  ] as const) {
    const clock = new FakeClock(now);
    const s = start(clock, new MemoryStore(), [schedule({ name: 'prague', cron: '0 9 * * *', timezone: 'Europe/Prague' })]);
    await s.started;
    assert.deepEqual(clock.waiting(), [prague]);
    clock.advanceTo(prague);
    await waitFor(() => s.fired.length === 1);
    assert.deepEqual(s.firedAt(), [prague]);
    await s.scheduler.close();
  }
  const clock = new FakeClock('2024-06-01T00:00:00Z');
  const utc = start(clock, new MemoryStore(), [schedule({ name: 'utc', cron: '0 9 * * *', timezone: 'UTC' })]);
  await utc.started;
  assert.deepEqual(clock.waiting(), ['2024-06-01T09:00:00.000Z']);
  await utc.scheduler.close();
});

/** Runs an hourly schedule until it fired at 10:00, stops it, and restarts it at 13:30 (11:00, 12:00, 13:00 missed). */
async function afterDowntime(over: Record<string, unknown>) {
  const store = new MemoryStore();
  const clock = new FakeClock('2024-06-01T09:30:00Z');
  const first = start(clock, store, [schedule(over)]);
  await first.started;
  clock.advanceTo('2024-06-01T10:00:00Z');
  await waitFor(() => first.fired.length === 1);
  await first.scheduler.close();
  clock.advanceTo('2024-06-01T13:30:00Z');
  const second = start(clock, store, [schedule(over)]);
  await second.started;
  return { clock, second };
}

test('catch_up: none skips the ticks missed while down, latest fires the newest one, all fires each oldest first (at most catch_up_max)', async () => {
  const none = await afterDowntime({ catch_up: 'none' });
  assert.deepEqual(none.second.firedAt(), []);
  assert.deepEqual(none.clock.waiting(), ['2024-06-01T14:00:00.000Z'], 'goes on from the next tick');
  await none.second.scheduler.close();

  const latest = await afterDowntime({ catch_up: 'latest' });
  assert.deepEqual(latest.second.firedAt(), ['2024-06-01T13:00:00.000Z']);
  await latest.second.scheduler.close();

  const all = await afterDowntime({ catch_up: 'all' });
  assert.deepEqual(all.second.firedAt(), ['2024-06-01T11:00:00.000Z', '2024-06-01T12:00:00.000Z', '2024-06-01T13:00:00.000Z']);
  assert.deepEqual(all.clock.waiting(), ['2024-06-01T14:00:00.000Z']);
  await all.second.scheduler.close();

  const bounded = await afterDowntime({ catch_up: 'all', catch_up_max: 2 });
  assert.deepEqual(bounded.second.firedAt(), ['2024-06-01T12:00:00.000Z', '2024-06-01T13:00:00.000Z']);
  await bounded.second.scheduler.close();
});

test('a node that was never down catches up nothing twice: a restart right after a tick fires nothing again', async () => {
  const store = new MemoryStore();
  const clock = new FakeClock('2024-06-01T09:30:00Z');
  const first = start(clock, store, [schedule({ catch_up: 'all' })]);
  await first.started;
  clock.advanceTo('2024-06-01T10:00:00Z');
  await waitFor(() => first.fired.length === 1);
  await first.scheduler.close();
  const second = start(clock, store, [schedule({ catch_up: 'all' })]);
  await second.started;
  assert.deepEqual(second.firedAt(), []);
  await second.scheduler.close();
});

test('two schedulers on one store (two nodes): each tick fires once between them', async () => {
  const store = new MemoryStore();
  const clock = new FakeClock('2024-06-01T09:59:00Z');
  const a = start(clock, store, [schedule({ cron: '* * * * *' })], 'a');
  const b = start(clock, store, [schedule({ cron: '* * * * *' })], 'b');
  await Promise.all([a.started, b.started]);
  for (const minute of ['10:00', '10:01', '10:02']) {
    const at = `2024-06-01T${minute}:00.000Z`;
    await waitFor(() => clock.waiting().filter((w) => w === at).length === 2, { what: `both nodes armed for ${at}` });
    clock.advanceTo(at);
    await waitFor(() => [...a.firedAt(), ...b.firedAt()].includes(at));
  }
  await Promise.all([a.scheduler.close(), b.scheduler.close()]);
  assert.deepEqual([...a.firedAt(), ...b.firedAt()].sort(), ['2024-06-01T10:00:00.000Z', '2024-06-01T10:01:00.000Z', '2024-06-01T10:02:00.000Z']);
});

test('a paused schedule lets its ticks pass (on every node sharing the store) and they are not caught up; resumed, it fires again', async () => {
  const store = new MemoryStore();
  const clock = new FakeClock('2024-06-01T09:30:00Z');
  const a = start(clock, store, [schedule({ catch_up: 'all' })], 'a');
  await a.started;
  const paused = await a.scheduler.pause('nightly');
  assert.equal(paused.paused, true);
  assert.equal(paused.next_fire_at, '2024-06-01T10:00:00.000Z');
  clock.advanceTo('2024-06-01T10:00:00Z');
  await armedFor(clock, '2024-06-01T11:00:00.000Z');
  assert.equal(a.fired.length, 0);
  await a.scheduler.close();
  // Another node (a restart) while paused: the 11:00 and 12:00 ticks it missed are not fired…
  clock.advanceTo('2024-06-01T12:30:00Z');
  const b = start(clock, store, [schedule({ catch_up: 'all' })], 'b');
  await b.started;
  assert.equal(b.fired.length, 0);
  assert.equal((await b.scheduler.list())[0]?.paused, true, 'the paused state is in the store');
  // …nor after resuming: it fires from its next tick.
  await b.scheduler.resume('nightly');
  clock.advanceTo('2024-06-01T13:00:00Z');
  await waitFor(() => b.fired.length === 1);
  assert.deepEqual(b.firedAt(), ['2024-06-01T13:00:00.000Z']);
  const [listed] = await b.scheduler.list();
  assert.equal(listed?.paused, false);
  assert.deepEqual(listed?.last_fired, { fired_at: '2024-06-01T13:00:00.000Z', claimed_at: '2024-06-01T13:00:00.000Z', node: 'b' });
  assert.equal(listed?.next_fire_at, '2024-06-01T14:00:00.000Z');
  await assert.rejects(b.scheduler.pause('nope'), { code: 'HKW_ERR_SCHEDULE_NOT_FOUND' });
  await b.scheduler.close();
});

test('a disabled schedule never fires and shows no next tick', async () => {
  const clock = new FakeClock('2024-06-01T09:30:00Z');
  const s = start(clock, new MemoryStore(), [schedule({ enabled: false })]);
  await s.started;
  assert.equal(clock.nextAt(), undefined);
  assert.equal((await s.scheduler.list())[0]?.next_fire_at, null);
  await s.scheduler.close();
});
