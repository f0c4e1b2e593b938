// The `schedules:` section: operator schedules that emit an event on a cron
// expression. Validated here as far as one section can be (the expression
// parses, the timezone exists); that names are unique and the event is in
// the catalogue are config checks (config/schedule-checks.ts), since they
// need every entry and the `events:` section.

import { Cron } from 'croner';
import { z } from 'zod';

/** Names appear in URLs (`/v1/schedules/:name/pause`) and in the store's keys. */
const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Whether Intl knows this IANA time zone (`Europe/Prague`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why croner refuses the expression, or undefined when it parses. */
export function cronProblem(pattern: string, timezone?: string): string | undefined {
  try {
    new Cron(pattern, { ...(timezone === undefined ? {} : { timezone }) });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export const scheduleSchema = z
  .strictObject({
    name: z.string().regex(SCHEDULE_NAME, 'a schedule name is 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    /** croner syntax: 5 fields (minute first), or 6 with seconds first; `@daily`, `@hourly`… too. */
    cron: z.string().min(1),
    /** IANA time zone the expression is read in (default: the process's, usually UTC on servers). */
    timezone: z.string().min(1).optional(),
    /** The event emitted on each tick: an id or name of the catalogue. */
    event: z.union([z.string().min(1), z.number().int().transform(String)]),
    /** The event's data (the tick adds `schedule: {name, fired_at}`). */
    data: z.record(z.string(), z.unknown()).default({}),
    /** What a node that was down does with the ticks it missed: skip them, fire the newest, or fire each (oldest first). */
    catch_up: z.enum(['none', 'latest', 'all']).default('none'),
    /** At most this many missed ticks are looked at (the newest ones). */
    catch_up_max: z.number().int().min(1).max(10_000).default(100),
    enabled: z.boolean().default(true),
  })
  .superRefine((schedule, ctx) => {
    if (schedule.timezone !== undefined && !isTimeZone(schedule.timezone)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `unknown time zone "${schedule.timezone}"; use an IANA name such as "UTC" or "Europe/Prague"`,
      });
      return;
    }
    const problem = cronProblem(schedule.cron, schedule.timezone);
    if (problem !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: `invalid cron expression "${schedule.cron}": ${problem}; write 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "0 9 * * 1-5"`,
      });
    }
  });

// Names used twice are a config check (config/schedule-checks.ts): it reads the
// entries as written, so one round lists them even when an entry is invalid.
export const schedulesConfigSchema = z.array(scheduleSchema);

export type ScheduleConfig = z.output<typeof scheduleSchema>;
