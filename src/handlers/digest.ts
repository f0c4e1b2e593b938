// What the templates of a digest handler see: its batch's events (a digest
// delivery's event is their JSON array, see delivery/digests.ts) as
// `events`, their number as `count`, and `events_list`, one line per event.

import type { EventRecord } from './target.js';

function lineOf(event: unknown): string {
  if (event === null || typeof event !== 'object') return `- ${String(event)}`;
  const e = event as Record<string, unknown>;
  const message = typeof e['message'] === 'string' && e['message'] !== '' ? e['message'] : String(e['name'] ?? e['id'] ?? '');
  const iso = (e['timestamp'] as Record<string, unknown> | undefined)?.['iso_8601'];
  return `- ${typeof iso === 'string' ? `${iso} ` : ''}${message}`;
}

/** The template root of a digest's one delivery. */
export function digestRecord(events: readonly unknown[]): EventRecord {
  return { events, count: events.length, events_list: events.map(lineOf).join('\n') };
}
