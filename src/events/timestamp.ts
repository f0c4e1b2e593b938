// The timestamp formats SFTPPlus offers as context variables (seed 000,
// section 12.4.3), computed once when an event is built.

export interface EventTimestamp {
  /** Unix time in seconds, with milliseconds: 1510742418.234 */
  readonly timestamp: number;
  /** CWA 14051 human readable UTC date and time: `2017-11-15 10:40:18` */
  readonly cwa_14051: string;
  /** `2017-11-15T10:40:18Z` */
  readonly iso_8601: string;
  /** `2017-11-15T10:40:18.234000Z` (microsecond precision, as Python prints it) */
  readonly iso_8601_fractional: string;
  /** Local time with its UTC offset: `2017-11-15T12:40:18+02:00` */
  readonly iso_8601_local: string;
  /** ISO 8601 basic format: `20171115T104018Z` */
  readonly iso_8601_basic: string;
  /** Digits only, safe in Windows file names: `20171115104018` */
  readonly iso_8601_compact: string;
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function offsetSuffix(offsetMinutes: number): string {
  if (offsetMinutes === 0) return '+00:00';
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Builds every format from one instant (milliseconds since the epoch). */
export function formatTimestamp(epochMs: number): EventTimestamp {
  const d = new Date(epochMs);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  const hour = d.getUTCHours();
  const minute = d.getUTCMinutes();
  const second = d.getUTCSeconds();
  const millisecond = d.getUTCMilliseconds();
  const date = `${year}-${pad(month)}-${pad(day)}`;
  const time = `${pad(hour)}:${pad(minute)}:${pad(second)}`;
  const compactDate = `${year}${pad(month)}${pad(day)}`;
  const compactTime = `${pad(hour)}${pad(minute)}${pad(second)}`;

  // getTimezoneOffset is minutes *behind* UTC, so the sign flips.
  const offset = -d.getTimezoneOffset();
  const local = new Date(epochMs + offset * 60_000);
  const localStamp =
    `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;

  return {
    timestamp: epochMs / 1000,
    cwa_14051: `${date} ${time}`,
    iso_8601: `${date}T${time}Z`,
    iso_8601_fractional: `${date}T${time}.${pad(millisecond, 3)}000Z`,
    iso_8601_local: `${localStamp}${offsetSuffix(offset)}`,
    iso_8601_basic: `${compactDate}T${compactTime}Z`,
    iso_8601_compact: `${compactDate}${compactTime}`,
    year,
    month,
    day,
    hour,
    minute,
    second,
    millisecond,
  };
}
