// The live page's bounded ring: at 1,000 events/s the page renders only the
// newest rows each frame and counts exactly the events never shown.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveBuffer, parseRow, type LiveRow } from '../../ui/src/live-buffer.js';

test('a render takes the newest rows, newest first, and counts the ones pushed out between renders as sampled out', () => {
  const buffer = new LiveBuffer(500);
  for (let i = 1; i <= 1000; i++) buffer.push(JSON.stringify({ id: String(i) }), i);
  assert.equal(buffer.dirty, true);
  const rows = buffer.take(100);
  assert.equal(rows.length, 100);
  assert.equal(rows[0]?.seq, 1000);
  assert.equal(rows[99]?.seq, 901);
  assert.equal(buffer.sampledOut, 900, '1,000 arrived, 100 shown');
  assert.equal(buffer.dirty, false);
  assert.equal(buffer.take(100)[0]?.seq, 1000, 'a render with nothing new shows the same rows');
  assert.equal(buffer.sampledOut, 900, 'and samples nothing out');
  for (let i = 0; i < 30; i++) buffer.push('{}', 0);
  buffer.take(100);
  assert.equal(buffer.sampledOut, 900, 'fewer new events than rows: every one is shown');
  assert.equal(buffer.received, 1030);
});

test('the ring keeps at most its capacity; rows are parsed only when shown, and bad JSON shows as raw text', () => {
  const buffer = new LiveBuffer(10);
  for (let i = 1; i <= 25; i++) buffer.push(`{"n":${i}}`, 0);
  const rows = buffer.take(50);
  assert.equal(rows.length, 10, 'no more than the ring holds');
  assert.equal(rows[0]?.parsed, undefined, 'not parsed on arrival');
  assert.deepEqual(parseRow(rows[0] as LiveRow), { n: 25 });
  buffer.push('not json', 0);
  assert.equal(parseRow(buffer.take(1)[0] as LiveRow), null);
  buffer.clear();
  assert.equal(buffer.take(5).length, 0);
  assert.equal(buffer.sampledOut, 0);
});

test('clear() starts every count again (the filters changed): received, sampled out, dropped and gaps count only the new stream', () => {
  const buffer = new LiveBuffer(10);
  for (let i = 1; i <= 25; i++) buffer.push(`{"n":${i}}`, 0);
  buffer.take(5);
  buffer.droppedByServer = 3;
  buffer.gaps = 1;
  buffer.clear();
  assert.deepEqual([buffer.received, buffer.sampledOut, buffer.droppedByServer, buffer.gaps], [0, 0, 0, 0]);
  assert.equal(buffer.dirty, false);
  buffer.push('{"n":26}', 0);
  assert.equal(buffer.received, 1, 'only what came after');
  const rows = buffer.take(5);
  assert.equal(rows.length, 1, 'no row of the old filters');
  assert.equal(rows[0]?.seq, 26, "row numbers go on: they are the rows' keys");
});
