// Event uuids: time-ordered (version 7) UUIDs — the creation millisecond,
// then random bits — read out as one flat string (see id-text.ts), from a
// pool of random bytes refilled 128 ids at a time. Time order matters to the
// stores: every store indexes deliveries by their event's uuid, and random
// (version 4) keys put each new row on a random page of that index, which
// cost a 1,000-event SQLite batch about twice the CPU per row
// (bench/sqlite-enqueue-probe.ts).

import { randomFillSync } from 'node:crypto';
import { writeHex } from './id-text.js';

const pool = Buffer.allocUnsafe(16 * 128);
let offset = pool.length;
const text = Buffer.from('00000000-0000-7000-8000-000000000000', 'latin1');
// Where each of the 16 bytes goes in the text.
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
// The text of the last millisecond written, so a burst writes it once.
let lastMs = -1;

/** A fresh time-ordered UUID (version 7, RFC 9562), lowercase. */
export function newEventUuid(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    // 48 bits, big-endian: the high 16 through division (bit operators stop at 32).
    const high = Math.floor(ms / 0x100000000);
    writeHex(text, high >>> 8, 0);
    writeHex(text, high, 2);
    writeHex(text, ms >>> 24, 4);
    writeHex(text, ms >>> 16, 6);
    writeHex(text, ms >>> 8, 9);
    writeHex(text, ms, 11);
  }
  const p = pool;
  const r = offset;
  offset += 16;
  for (let i = 6; i < 16; i++) {
    let byte = p[r + i] as number;
    if (i === 6) byte = (byte & 0x0f) | 0x70; // version 7
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    writeHex(text, byte, AT[i] as number);
  }
  return text.toString('latin1');
}
