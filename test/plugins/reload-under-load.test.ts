// A reload under load loses nothing: events stream to several plugins while
// one of them is reloaded 100 times. Sequence numbers, not timing, decide.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';

interface Life {
  start: number;
  seqs: number[];
}
interface Stream {
  next: number;
  steady: Record<string, number[]>;
  lives: Life[];
}

test('reloading one plugin 100 times while events stream: the others get every event, it gets every event after each start', async (t) => {
  const f = fixture({ hostOptions: { events: [{ id: 'tick', name: 'tick' }] } });
  t.after(() => f.cleanup());
  const stream: Stream = { next: 0, steady: {}, lives: [] };
  (globalThis as unknown as { __stream: Stream }).__stream = stream;
  for (const name of ['steady-a', 'steady-b', 'steady-c']) {
    f.write(`${name}.mjs`, `
export const plugin = {
  name: '${name}', version: '1.0.0',
  setup(ctx) {
    const seen = (globalThis.__stream.steady['${name}'] = []);
    ctx.on('tick', (event) => { seen.push(event.data.seq); });
  },
};`);
  }
  f.write('reloaded.mjs', `
export const plugin = {
  name: 'reloaded', version: '1.0.0',
  setup(ctx) {
    const stream = globalThis.__stream;
    // Subscribing and noting the next sequence number happen in one turn.
    const life = { start: stream.next, seqs: [] };
    stream.lives.push(life);
    ctx.on('tick', async (event) => { await null; life.seqs.push(event.data.seq); });
  },
};`);
  await f.manager.loadActive(['steady-a', 'steady-b', 'steady-c', 'reloaded']);

  let reloading = true;
  const emitter = (async () => {
    while (reloading || stream.next < 2000) {
      const seq = stream.next++;
      await f.host.emit('tick', { data: { seq } });
      if (seq % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  for (let i = 0; i < 100; i++) {
    const info = await f.manager.reload('reloaded');
    assert.equal(info.state, 'running');
    // Let this life see some of the stream before the next reload.
    await waitFor(() => (stream.lives.at(-1) as Life).seqs.length >= 3, 'the new life receives events');
  }
  reloading = false;
  await emitter;
  await f.host.idle();

  const total = stream.next;
  const all = Array.from({ length: total }, (_, i) => i);
  for (const name of ['steady-a', 'steady-b', 'steady-c']) assert.deepEqual(stream.steady[name], all, `${name} got every event`);
  assert.equal(stream.lives.length, 101);
  let nonEmpty = 0;
  for (const [i, life] of stream.lives.entries()) {
    if (life.seqs.length === 0) continue;
    nonEmpty++;
    const expected = Array.from({ length: life.seqs.length }, (_, k) => life.start + k);
    assert.deepEqual(life.seqs, expected, `life ${i} got every event from its start on, in order`);
  }
  const last = stream.lives.at(-1) as Life;
  assert.deepEqual(last.seqs, all.slice(last.start), 'the final life got everything after its start');
  assert.equal(nonEmpty, 101, `events reached the reloaded plugin in many of its lives (${nonEmpty})`);
  t.diagnostic(`${total} events, 100 reloads, ${nonEmpty} lives saw events`);
});
