import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DueHeap } from '../../src/delivery/due-heap.js';

test('the due heap pops by due time, ties in push order', () => {
  const heap = new DueHeap<string>();
  const input: Array<[number, string]> = [[5, 'e1'], [1, 'a'], [3, 'c1'], [5, 'e2'], [2, 'b'], [3, 'c2'], [0, 'z'], [5, 'e3']];
  for (const [at, item] of input) heap.push(at, 0, item);
  assert.equal(heap.size, input.length);
  assert.equal(heap.peekAt(), 0);
  assert.equal(heap.peekGeneration(), 0);
  const out: string[] = [];
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e);
  assert.deepEqual(out, ['z', 'a', 'b', 'c1', 'c2', 'e1', 'e2', 'e3']);
  assert.equal(heap.size, 0);
  assert.equal(heap.pop(), undefined);
  assert.equal(heap.peekAt(), Infinity);
});

test('the due heap hands back the generation each entry was pushed with', () => {
  const heap = new DueHeap<string>();
  heap.push(20, 7, 'late');
  heap.push(10, 3, 'early');
  heap.push(15, 5, 'middle');
  const seen: Array<[number, number, string | undefined]> = [];
  while (heap.size > 0) seen.push([heap.peekAt(), heap.peekGeneration(), heap.pop()]);
  assert.deepEqual(seen, [[10, 3, 'early'], [15, 5, 'middle'], [20, 7, 'late']]);
});

test('the due heap keeps its order over many random pushes and pops', () => {
  const heap = new DueHeap<number>();
  const reference: Array<{ at: number; seq: number }> = [];
  let seq = 0;
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 2000; round++) {
    if (random() < 0.6 || reference.length === 0) {
      const at = Math.floor(random() * 50);
      heap.push(at, 0, seq);
      reference.push({ at, seq: seq++ });
    } else {
      reference.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const expected = reference.shift();
      assert.equal(heap.pop(), expected?.seq);
    }
  }
});
