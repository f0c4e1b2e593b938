import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSince } from '../../src/delivery/parse-time.js';

const NOW = Date.UTC(2025, 0, 31, 12, 0, 0);

test('parseSince: digits only are always milliseconds since the epoch, whatever their length', () => {
  assert.equal(parseSince('1738324800000', NOW), NOW);
  assert.equal(parseSince(' 1738324800000 ', NOW), NOW);
  // Short numbers are not handed to Date.parse (which reads "12345" as the year 12345 and "2025" as a year).
  assert.equal(parseSince('12345', NOW), 12_345);
  assert.equal(parseSince('2025', NOW), 2025);
  assert.equal(parseSince('1738324800', NOW), 1_738_324_800, 'Unix seconds are not guessed: they read as ms');
  assert.equal(parseSince('0', NOW), 0);
  assert.throws(() => parseSince('99999999999999999999', NOW), { code: 'HKW_ERR_INVALID_ARGUMENT', message: /too large/ });
});

test('parseSince: ISO dates/times and durations ago; anything else is refused naming the forms', () => {
  assert.equal(parseSince('2025-01-31T12:00:00Z', NOW), NOW);
  assert.equal(parseSince('2025-01-31', NOW), Date.UTC(2025, 0, 31));
  assert.equal(parseSince('30m', NOW), NOW - 30 * 60_000);
  assert.equal(parseSince('2h', NOW), NOW - 2 * 3_600_000);
  assert.equal(parseSince('1.5d', NOW), NOW - 1.5 * 86_400_000);
  assert.equal(parseSince('90s', NOW), NOW - 90_000);
  assert.throws(() => parseSince('yesterday-ish', NOW), {
    code: 'HKW_ERR_INVALID_ARGUMENT',
    message: /milliseconds since the epoch \(digits only/,
  });
});
