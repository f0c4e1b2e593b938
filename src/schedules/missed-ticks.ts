// The ticks a schedule missed while no node ran it: those after the newest
// claimed tick, up to now, at most `max` of them (the newest). croner only
// walks forward, so the window starts near now and widens (×4) until it holds
// `max` ticks or reaches the last claimed tick: a node down for a month with
// a per-second cron walks a few hundred ticks, not millions.

import type { Cron } from 'croner';

/** Ticks in (after, until], oldest first. */
function ticksBetween(cron: Cron, after: number, until: number): number[] {
  const ticks: number[] = [];
  for (let next = cron.nextRun(new Date(after)); next !== null && next.getTime() <= until; next = cron.nextRun(next)) {
    ticks.push(next.getTime());
  }
  return ticks;
}

/** The newest `max` ticks in (lastTick, now], oldest first. */
export function missedTicks(cron: Cron, lastTick: number, now: number, max: number): number[] {
  for (let span = 60_000; ; span *= 4) {
    const from = Math.max(lastTick, now - span);
    const ticks = ticksBetween(cron, from, now);
    if (from === lastTick || ticks.length >= max) return ticks.slice(-max);
  }
}
