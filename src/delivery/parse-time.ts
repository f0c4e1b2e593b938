// Times operators type: an ISO 8601 date/time, milliseconds since the epoch,
// or a duration ago (`90s`, `30m`, `2h`, `7d`).

import { InvalidArgumentError } from '../errors.js';

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseSince(text: string, now = Date.now()): number {
  const value = text.trim();
  const ago = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(value);
  if (ago !== null) return now - Number(ago[1]) * (UNITS[ago[2] as string] as number);
  if (/^\d{10,}$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  if (!Number.isNaN(parsed)) return parsed;
  throw new InvalidArgumentError(
    `"${text}" is not a time: use an ISO date/time (2025-01-31T12:00:00Z), milliseconds since the epoch, or a duration ago such as 30m, 2h or 7d.`,
  );
}
