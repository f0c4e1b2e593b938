// One-dimensional PostgreSQL arrays in the binary wire format, for the
// enqueue's and the settle's parameters: pg sends a Buffer parameter as
// binary, which the server reads with array_recv (a length, then the bytes,
// per element) instead of parsing a text literal. A text[] literal costs the driver an
// escape of every element (two regex passes, quotes) and the server a
// character-by-character parse (array_in) of it; the events' JSON, sent as
// one JSON array before, cost the driver JSON.stringify's escaping of every
// quote and the server a JSON lexer pass over every character
// (docs/performance.md, "POST /v1/events on PostgreSQL: the fourth round").
// Layout: ndim, has-nulls flag, element type oid, then (size, lower bound)
// for the one dimension, then each element as its byte length (-1 for NULL)
// and its bytes; integers big-endian.

const TEXT_OID = 25;
const INT4_OID = 23;
const INT8_OID = 20;
const BOOL_OID = 16;
/** ndim, flags, element oid, size, lower bound. */
const HEADER = 20;

function header(buf: Buffer, count: number, hasNull: boolean, oid: number): void {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeInt32BE(oid, 8);
  buf.writeInt32BE(count, 12);
  buf.writeInt32BE(1, 16);
}

/**
 * A text[] parameter. Strings go as UTF-8, as a text parameter does (a lone
 * surrogate becomes U+FFFD); null and undefined are NULL elements. Values
 * with anything else among them are handed back as they were, for the
 * driver to send as text as before (it writes a number's or an object's
 * text).
 */
export function textArray(values: readonly unknown[]): Buffer | readonly unknown[] {
  let size = HEADER;
  let hasNull = false;
  for (const v of values) {
    if (v == null) hasNull = true;
    else if (typeof v === 'string') size += Buffer.byteLength(v, 'utf8');
    else return values;
    size += 4;
  }
  const buf = Buffer.allocUnsafe(size);
  header(buf, values.length, hasNull, TEXT_OID);
  let at = HEADER;
  for (const v of values) {
    if (v == null) {
      buf.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    const n = buf.write(v as string, at + 4, 'utf8');
    buf.writeInt32BE(n, at);
    at += 4 + n;
  }
  return buf;
}

/**
 * An int4[] parameter, or the values as they were when one of them is not a
 * whole number in int4's range: the driver then sends them as text, as
 * before, and the server judges them as it did.
 */
export function int4Array(values: readonly unknown[]): Buffer | readonly unknown[] {
  let hasNull = false;
  for (const v of values) {
    if (v == null) hasNull = true;
    else if (typeof v !== 'number' || !Number.isInteger(v) || v > 0x7fff_ffff || v < -0x8000_0000) return values;
  }
  const buf = Buffer.allocUnsafe(HEADER + 8 * values.length);
  header(buf, values.length, hasNull, INT4_OID);
  let at = HEADER;
  for (const v of values) {
    if (v == null) {
      buf.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    buf.writeInt32BE(4, at);
    buf.writeInt32BE(v as number, at + 4);
    at += 8;
  }
  return buf.subarray(0, at);
}

/** A bool[] parameter; null and undefined are NULL elements (anything else but booleans: handed back, as textArray). */
export function boolArray(values: readonly unknown[]): Buffer | readonly unknown[] {
  let hasNull = false;
  for (const v of values) {
    if (v == null) hasNull = true;
    else if (typeof v !== 'boolean') return values;
  }
  const buf = Buffer.allocUnsafe(HEADER + 5 * values.length);
  header(buf, values.length, hasNull, BOOL_OID);
  let at = HEADER;
  for (const v of values) {
    if (v == null) {
      buf.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    buf.writeInt32BE(1, at);
    buf[at + 4] = v === true ? 1 : 0;
    at += 5;
  }
  return buf.subarray(0, at);
}

/**
 * A bigint[] parameter (times in ms), or the values as they were when one of
 * them is not a safe whole number (a fraction, a string): the driver then sends them as text, as
 * before, and the server judges them as it did (a fraction is refused).
 */
export function int8Array(values: readonly unknown[]): Buffer | readonly unknown[] {
  let hasNull = false;
  for (const v of values) {
    if (v == null) hasNull = true;
    else if (!Number.isSafeInteger(v)) return values;
  }
  const buf = Buffer.allocUnsafe(HEADER + 12 * values.length);
  header(buf, values.length, hasNull, INT8_OID);
  let at = HEADER;
  for (const v of values) {
    if (v == null) {
      buf.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    // Two's complement in two halves: the high word is floor(v / 2^32) (negative for a negative v), the low one the rest.
    const high = Math.floor((v as number) / 0x1_0000_0000);
    buf.writeInt32BE(8, at);
    buf.writeInt32BE(high, at + 4);
    buf.writeUInt32BE((v as number) - high * 0x1_0000_0000, at + 8);
    at += 12;
  }
  return buf.subarray(0, at);
}
