// Delivery ids: `dlv_` + a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds,
// then a 12-bit counter (method 1: ids of one millisecond stay in order), then
// 62 random bits. Ids made one after another sort in that order, so a store
// keyed or indexed on them appends at the end of its B-tree instead of
// writing all over it (random UUIDv4 ids did, and cost the SQLite store about
// a fifth of its time per delivery). The random bits come from a pooled
// buffer, as webhook ids do.

import { randomFillSync } from 'node:crypto';
import { writeHex } from '../events/id-text.js';

// 62 random bits (8 bytes, less the variant's 2) and one byte to start each millisecond's counter.
const RANDOM_BYTES = 9;
const pool = Buffer.allocUnsafe(RANDOM_BYTES * 256);
let offset = pool.length;
let lastMs = -1;
let counter = 0;
// Written into one scratch buffer and read out flat (see id-text.ts).
const text = Buffer.from('dlv_00000000-0000-7000-8000-000000000000', 'latin1');

function hex(byte: number, at: number): void {
  writeHex(text, byte, at);
}

/** A fresh `dlv_<uuidv7>` id, later than (and sorting after) every id this process made before. */
export function newDeliveryId(now = Date.now()): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let ms = now;
  if (ms > lastMs) {
    lastMs = ms;
    // A random start in the lower half leaves room for 2048+ ids in the same millisecond.
    counter = (pool[offset + 8] as number) << 3;
  } else {
    // Same millisecond (or the clock stepped back): keep counting on the last one.
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      // The counter ran out: borrow the next millisecond, which keeps the order.
      lastMs += 1;
      ms = lastMs;
      counter = 0;
    }
  }
  const hi = Math.floor(ms / 0x10000); // the top 32 of the 48 timestamp bits
  const r = offset;
  offset += RANDOM_BYTES;
  const p = pool;
  // dlv_ tttttttt - tttt - 7ccc - vrrr - rrrrrrrrrrrr
  hex(hi >>> 24, 4);
  hex(hi >>> 16, 6);
  hex(hi >>> 8, 8);
  hex(hi, 10);
  hex(ms >>> 8, 13);
  hex(ms, 15);
  hex(0x70 | (counter >> 8), 18);
  hex(counter, 20);
  hex(0x80 | ((p[r] as number) & 0x3f), 23);
  hex(p[r + 1] as number, 25);
  for (let i = 2; i < 8; i++) hex(p[r + i] as number, 24 + 2 * i);
  return text.toString('latin1');
}

/**
 * The top-level uuid of an event's JSON as the envelope writes it
 * (`{"id":"…","uuid":"…"`), or null (a digest's array, other JSON). No
 * parse: the id is escaped JSON, so the first `","uuid":"` ends it.
 */
export function eventUuidOf(json: string): string | null {
  if (!json.startsWith('{"id":"')) return null;
  const at = json.indexOf('","uuid":"', 7);
  if (at < 0) return null;
  const start = at + 10;
  const end = json.indexOf('"', start);
  return end > start && end - start <= 64 ? json.slice(start, end) : null;
}
