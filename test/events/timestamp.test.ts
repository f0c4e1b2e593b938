import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHost, silentLogger } from '../../src/index.js';
import { formatTimestamp } from '../../src/events/timestamp.js';

// 2017-11-15T10:40:18.234Z, SFTPPlus's own example instant.
const MS = 1510742418234;

function withTz<T>(tz: string, fn: () => T): T {
  const before = process.env['TZ'];
  process.env['TZ'] = tz;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env['TZ'];
    else process.env['TZ'] = before;
  }
}

test('every timestamp format, from one fixed instant', () => {
  const ts = withTz('UTC', () => formatTimestamp(MS));
  assert.deepEqual(
    { ...ts },
    {
      timestamp: 1510742418.234,
      cwa_14051: '2017-11-15 10:40:18',
      iso_8601: '2017-11-15T10:40:18Z',
      iso_8601_fractional: '2017-11-15T10:40:18.234000Z',
      iso_8601_local: '2017-11-15T10:40:18+00:00',
      iso_8601_basic: '20171115T104018Z',
      iso_8601_compact: '20171115104018',
      year: 2017,
      month: 11,
      day: 15,
      hour: 10,
      minute: 40,
      second: 18,
      millisecond: 234,
    },
  );
});

test('iso_8601_local carries the local offset, east and west of UTC', () => {
  assert.equal(withTz('Asia/Kolkata', () => formatTimestamp(MS)).iso_8601_local, '2017-11-15T16:10:18+05:30');
  assert.equal(withTz('America/New_York', () => formatTimestamp(MS)).iso_8601_local, '2017-11-15T05:40:18-05:00');
  // The UTC forms do not move with the zone.
  assert.equal(withTz('Asia/Kolkata', () => formatTimestamp(MS)).iso_8601, '2017-11-15T10:40:18Z');
});

test('single-digit parts are zero padded and milliseconds keep three digits', () => {
  const ts = withTz('UTC', () => formatTimestamp(Date.UTC(2024, 0, 2, 3, 4, 5, 7)));
  assert.equal(ts.cwa_14051, '2024-01-02 03:04:05');
  assert.equal(ts.iso_8601_fractional, '2024-01-02T03:04:05.007000Z');
  assert.equal(ts.iso_8601_basic, '20240102T030405Z');
  assert.equal(ts.iso_8601_compact, '20240102030405');
  assert.equal(ts.timestamp, 1704164645.007);
});

test('an emitted event carries the formats of its timestampMs, frozen', async (t) => {
  const host = createHost({ logger: silentLogger(), events: [{ id: '1', name: 'one', message: 'at {{timestamp.cwa_14051}} ({{TIMESTAMP.Timestamp}})' }] });
  t.after(() => host.close());
  const event = await host.emit('1', { timestampMs: MS });
  assert.equal(event.timestamp.iso_8601_compact, '20171115104018');
  assert.equal(event.message, 'at 2017-11-15 10:40:18 (1510742418.234)');
  assert.ok(Object.isFrozen(event.timestamp));
  const now = await host.emit('1');
  assert.ok(Math.abs(now.timestamp.timestamp * 1000 - Date.now()) < 60_000, 'defaults to the current time');
});
