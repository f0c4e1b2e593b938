import assert from 'node:assert/strict';
import { eventCopyJsonParts } from '../../src/events/event-json.js';

/** What EventJsonParts writes for `event`, at an offset in a larger buffer: its bytes, checked to fill exactly `bytes` (nothing before or after touched). */
export function partsText(event: Parameters<typeof eventCopyJsonParts>[0]): string | undefined {
  const parts = eventCopyJsonParts(event);
  if (parts === undefined) return undefined;
  const target = Buffer.alloc(parts.bytes + 8, 0xee);
  parts.writeInto(target, 4);
  assert.deepEqual([...target.subarray(0, 4), ...target.subarray(4 + parts.bytes)], new Array(8).fill(0xee), 'written within its bytes');
  return target.toString('utf8', 4, 4 + parts.bytes);
}
