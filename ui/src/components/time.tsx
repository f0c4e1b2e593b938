import { localTime, toDate, utcTime } from '../format.js';

/** A time in the browser's zone; hovering shows the exact UTC value. */
export function Time({ value }: { value: string | number | undefined | null }) {
  const date = toDate(value);
  if (date === undefined) return <span class="muted">—</span>;
  return (
    <time dateTime={utcTime(date)} title={`${utcTime(date)} (UTC)`}>
      {localTime(date)}
    </time>
  );
}
