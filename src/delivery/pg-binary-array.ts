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
  return binaryArray(values, TEXT_OID, textSize, putText);
}

const textSize = (v: unknown): number => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : -1);
const putText = (buf: Buffer, at: number, v: unknown): number => buf.write(v as string, at, 'utf8');

/**
 * A one-dimensional array of `oid` elements: `sizeOf` gives a (non-null)
 * value's byte length, or -1 when it cannot go as is; `put` writes it at
 * `at` and says how many bytes it wrote. The values are handed back as they
 * were when one does not fit: the driver then sends them as text, as
 * before, and the server judges them as it did.
 */
function binaryArray(
  values: readonly unknown[],
  oid: number,
  sizeOf: (v: unknown) => number,
  put: (buf: Buffer, at: number, v: unknown) => number,
): Buffer | readonly unknown[] {
  let size = HEADER;
  let hasNull = false;
  // Indexed loops: for-of here allocated an iterator result per element
  // (2.9 KB of the 18.6 KB a PostgreSQL delivery left to the main thread's
  // garbage collector, docs/performance.md, the eighth round).
  const count = values.length;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (v == null) hasNull = true;
    else {
      const bytes = sizeOf(v);
      if (bytes < 0) return values;
      size += bytes;
    }
    size += 4;
  }
  const buf = Buffer.allocUnsafe(size);
  header(buf, count, hasNull, oid);
  let at = HEADER;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (v == null) {
      buf.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    const n = put(buf, at + 4, v);
    buf.writeInt32BE(n, at);
    at += 4 + n;
  }
  return buf;
}

/** A fixed-width element type's sizeOf for binaryArray: `width`, or -1 for a value `fits` refuses. */
function fixedWidth(width: number, fits: (v: unknown) => boolean): (v: unknown) => number {
  return (v) => (fits(v) ? width : -1);
}

const isInt4 = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v <= 0x7fff_ffff && v >= -0x8000_0000;
const putInt4 = (buf: Buffer, at: number, v: unknown): number => {
  buf.writeInt32BE(v as number, at);
  return 4;
};
const isBool = (v: unknown): boolean => typeof v === 'boolean';
const putBool = (buf: Buffer, at: number, v: unknown): number => {
  buf[at] = v === true ? 1 : 0;
  return 1;
};
const putInt8 = (buf: Buffer, at: number, v: unknown): number => {
  // Two's complement in two halves: the high word is floor(v / 2^32) (negative for a negative v), the low one the rest.
  const high = Math.floor((v as number) / 0x1_0000_0000);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE((v as number) - high * 0x1_0000_0000, at + 4);
  return 8;
};

const int4Size = fixedWidth(4, isInt4);
const boolSize = fixedWidth(1, isBool);
const int8Size = fixedWidth(8, Number.isSafeInteger);

/** An int4[] parameter (or the values as they were when one is not a whole number in int4's range). */
export function int4Array(values: readonly unknown[]): Buffer | readonly unknown[] {
  return binaryArray(values, INT4_OID, int4Size, putInt4);
}

/** A bool[] parameter; null and undefined are NULL elements (or the values as they were when one is not a boolean). */
export function boolArray(values: readonly unknown[]): Buffer | readonly unknown[] {
  return binaryArray(values, BOOL_OID, boolSize, putBool);
}

/** A bigint[] parameter (times in ms), or the values as they were when one is not a safe whole number (a fraction, a string: the server refuses a fraction, as before). */
export function int8Array(values: readonly unknown[]): Buffer | readonly unknown[] {
  return binaryArray(values, INT8_OID, int8Size, putInt8);
}
