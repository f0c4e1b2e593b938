// The `schedules:` section is validated with the whole config: a bad cron
// expression, an unknown time zone, a name used twice and (strict) an event
// outside the catalogue are problems with their key and file.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, validateConfigSources } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/runtime/runtime.js';
import { tempConfigDir } from '../config/helpers.js';

const EVENTS = [{ id: '40001', name: 'nightly-report' }];

/** Every problem by key, as loadConfig reports them (schema and checks in one round). */
function problems(config: Record<string, unknown>): Map<string, string> {
  try {
    validateConfigSources([{ file: 'c.yaml', value: config }]);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return new Map(err.problems.map((p) => [p.key, p.message]));
  }
  return new Map();
}

test('a valid schedules section is accepted with its defaults; the event may be given by id or name', () => {
  const config = parseConfig({
    events: EVENTS,
    schedules: [
      { name: 'by-id', cron: '0 9 * * 1-5', timezone: 'Europe/Prague', event: 40001, data: { report: 'daily' } },
      { name: 'by-name', cron: '*/30 * * * * *', event: 'nightly-report', catch_up: 'all' },
    ],
  });
  assert.deepEqual(config.schedules[0], {
    name: 'by-id',
    cron: '0 9 * * 1-5',
    timezone: 'Europe/Prague',
    event: '40001',
    data: { report: 'daily' },
    catch_up: 'none',
    catch_up_max: 100,
    enabled: true,
  });
  assert.equal(config.schedules[1]?.catch_up, 'all');
});

test('an invalid cron expression, an unknown time zone, a duplicate name, an unknown event and a bad catch_up are problems with their keys', () => {
  const found = problems({
    events: EVENTS,
    schedules: [
      { name: 'minute-61', cron: '61 * * * *', event: '40001' },
      { name: 'words', cron: 'every day', event: '40001' },
      { name: 'mars', cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons', event: '40001' },
      { name: 'minute-61', cron: '0 * * * *', event: '40001' },
      { name: 'unknown-event', cron: '0 * * * *', event: 'no-such-event' },
      { name: 'bad-catch-up', cron: '0 * * * *', event: '40001', catch_up: 'some' },
      { name: '../etc', cron: '0 * * * *', event: '40001' },
    ],
  });
  assert.match(found.get('schedules.0.cron') ?? '', /invalid cron expression "61 \* \* \* \*": .*minute/);
  assert.match(found.get('schedules.1.cron') ?? '', /invalid cron expression "every day"/);
  assert.match(found.get('schedules.2.timezone') ?? '', /unknown time zone "Mars\/Olympus_Mons"; use an IANA name/);
  assert.match(found.get('schedules.3.name') ?? '', /the schedule name "minute-61" is already used by c\.yaml: schedules\.0\.name; names must be unique/);
  assert.match(found.get('schedules.4.event') ?? '', /unknown event "no-such-event"/);
  assert.match(found.get('schedules.5.catch_up') ?? '', /none|latest|all/);
  assert.match(found.get('schedules.6.name') ?? '', /a schedule name is 1-100 letters/);
});

test('in strict mode a schedule must name a catalogue event (id or name); with strict: false any id goes', () => {
  const found = problems({ events: EVENTS, schedules: [{ name: 'x', cron: '0 * * * *', event: 'no-such-event' }] });
  assert.match(found.get('schedules.0.event') ?? '', /unknown event "no-such-event"; declare it in events:/);
  assert.equal(problems({ strict: false, schedules: [{ name: 'x', cron: '0 * * * *', event: 'no-such-event' }] }).size, 0);
  // The engine's own events are in the catalogue too.
  assert.equal(problems({ schedules: [{ name: 'x', cron: '0 * * * *', event: '20000' }] }).size, 0);
});

test('loadConfig names the file and the key of a schedule problem', async (t) => {
  const { dir, write } = tempConfigDir(t);
  write('10-events.yaml', 'events:\n  - id: "40001"\n    name: nightly-report\n');
  const file = write('20-schedules.yaml', 'schedules:\n  - name: a\n    cron: "0 9 * * *"\n    event: nightly-report\n  - name: b\n    cron: "0 9 * * *"\n    timezone: Nowhere/City\n    event: nightly-report\n');
  await assert.rejects(loadConfig(dir), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(
      err.problems.map((p) => [p.file, p.key]),
      [[file, 'schedules.1.timezone']],
    );
    return true;
  });
});
