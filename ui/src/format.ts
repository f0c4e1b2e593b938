// Times are shown in the browser's zone; the exact UTC value goes in a title.

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Accepts ISO strings and ms since the epoch, as the API gives both. */
export function toDate(value: string | number | undefined | null): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function localTime(date: Date): string {
  return dateTime.format(date);
}

export function utcTime(date: Date): string {
  return date.toISOString();
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = s / 60;
  if (m < 60) return `${m.toFixed(1)} min`;
  return `${(m / 60).toFixed(1)} h`;
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
