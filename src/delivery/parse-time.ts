// Times operators type: an ISO 8601 date/time, milliseconds since the epoch,
// or a duration ago (`90s`, `30m`, `2h`, `7d`).
//
// The rule for numbers is one and unambiguous: a value of digits only is
// Unix time in milliseconds, whatever its length ("1738324800000" is
// 2025-01-31T12:00:00Z, "12345" is 12.345 s after the epoch). It never goes
// to Date.parse, which would read "12345" as the year 12345 and "2025" as a
// year. Write dates as ISO (2025-01-01), and Unix seconds with three more
// zeros (or as a duration ago).

import { InvalidArgumentError } from '../errors.js';

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The largest time a Date can hold (ms). */
const MAX_TIME = 8.64e15;

const HELP =
  'use an ISO date/time (2025-01-31T12:00:00Z), milliseconds since the epoch (digits only, e.g. 1738324800000), or a duration ago such as 30m, 2h or 7d.';

export function parseSince(text: string, now = Date.now()): number {
  const value = text.trim();
  const ago = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(value);
  if (ago !== null) return now - Number(ago[1]) * (UNITS[ago[2] as string] as number);
  if (/^\d+$/.test(value)) {
    const ms = Number(value);
    if (ms > MAX_TIME) throw new InvalidArgumentError(`"${text}" is too large for milliseconds since the epoch; ${HELP}`);
    return ms;
  }
  const parsed = Date.parse(value);
  if (!Number.isNaN(parsed)) return parsed;
  throw new InvalidArgumentError(`"${text}" is not a time: ${HELP}`);
}
