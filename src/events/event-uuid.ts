// Event uuids: random (version 4) UUIDs, as node:crypto's randomUUID makes
// them, but read out as one flat string (see id-text.ts), from a pool of
// random bytes refilled 128 ids at a time.

import { randomFillSync } from 'node:crypto';
import { writeHex } from './id-text.js';

const pool = Buffer.allocUnsafe(16 * 128);
let offset = pool.length;
const text = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
// Where each of the 16 bytes goes in the text.
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/** A fresh random UUID (version 4, RFC 9562), lowercase. */
export function newEventUuid(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const p = pool;
  const r = offset;
  offset += 16;
  for (let i = 0; i < 16; i++) {
    let byte = p[r + i] as number;
    if (i === 6) byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    writeHex(text, byte, AT[i] as number);
  }
  return text.toString('latin1');
}
