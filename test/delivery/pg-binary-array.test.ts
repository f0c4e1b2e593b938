// The binary array parameters of the PostgreSQL store's enqueue and settle,
// read back by a decoder of the same wire format (array_recv's): every element
// and NULL where it was, and the values handed back as they were when one
// cannot go as is. The store's contract suite runs them against a server.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boolArray, int4Array, int8Array, textArray } from '../../src/delivery/pg-binary-array.js';

/** Reads a one-dimensional binary array: its element oid and elements (NULL as null). */
function decode(buf: Buffer, read: (bytes: Buffer) => unknown): { oid: number; hasNull: boolean; values: unknown[] } {
  assert.equal(buf.readInt32BE(0), 1, 'one dimension');
  const hasNull = buf.readInt32BE(4) === 1;
  const oid = buf.readInt32BE(8);
  const count = buf.readInt32BE(12);
  assert.equal(buf.readInt32BE(16), 1, 'lower bound 1');
  const values: unknown[] = [];
  let at = 20;
  for (let i = 0; i < count; i++) {
    const size = buf.readInt32BE(at);
    at += 4;
    if (size === -1) {
      values.push(null);
      continue;
    }
    values.push(read(buf.subarray(at, at + size)));
    at += size;
  }
  assert.equal(at, buf.length, 'nothing after the last element');
  return { oid, hasNull, values };
}

test('text[]: each string as UTF-8, null and undefined as NULL, in order', () => {
  const buf = textArray(['a', null, 'é ✓ 🎉', undefined, '']);
  assert.ok(Buffer.isBuffer(buf));
  assert.deepEqual(decode(buf, (b) => b.toString('utf8')), { oid: 25, hasNull: true, values: ['a', null, 'é ✓ 🎉', null, ''] });
  assert.deepEqual(decode(textArray(['x', 'y']) as Buffer, (b) => b.toString('utf8')), { oid: 25, hasNull: false, values: ['x', 'y'] });
  assert.deepEqual(decode(textArray([]) as Buffer, (b) => b), { oid: 25, hasNull: false, values: [] });
});

test('int4[], int8[] and bool[]: big-endian integers (negative ones too) and one-byte booleans', () => {
  assert.deepEqual(decode(int4Array([0, -1, 2147483647, -2147483648, null]) as Buffer, (b) => b.readInt32BE(0)), {
    oid: 23,
    hasNull: true,
    values: [0, -1, 2147483647, -2147483648, null],
  });
  const times = [0, 1_700_000_000_123, -5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
  assert.deepEqual(decode(int8Array(times) as Buffer, (b) => Number(b.readBigInt64BE(0))), { oid: 20, hasNull: false, values: times });
  assert.deepEqual(decode(boolArray([true, false, null]) as Buffer, (b) => b[0] === 1), { oid: 16, hasNull: true, values: [true, false, null] });
});

test('a value that cannot go as is hands the values back as they were (the driver sends them as text)', () => {
  const mixed = ['a', 1, 'b'];
  assert.equal(textArray(mixed), mixed);
  const tooBig = [1, 2 ** 31];
  assert.equal(int4Array(tooBig), tooBig);
  const fraction = [1, 1.5];
  assert.equal(int8Array(fraction), fraction);
  const notBool = [true, 'yes'];
  assert.equal(boolArray(notBool), notBool);
});
