// A tick's frames leave in one write on the next tick, unless they reach a
// pipe's capacity first (FLUSH_BYTES, 64 KiB): a burst of large frames is
// then written as it is made, in order, instead of waiting whole in the
// host's heap while the runtime sits idle. Needs python3.

import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ProtocolProcess } from '../../src/extensions/protocol-process.js';
import type { Response } from '../../src/extensions/protocol.js';
import { silentLogger } from '../../src/logger.js';

const RUNTIME = fileURLToPath(new URL('../../python/hookwork_runtime.py', import.meta.url));

describe('protocol process: writing a burst', () => {
  test('frames past 64 KiB in one tick are written before the tick ends, in order; a small burst waits for the next tick', async () => {
    const child = new ProtocolProcess(
      { file: 'python3', args: ['-u', RUNTIME, 'worker'] },
      { role: 'worker', logger: silentLogger(), tag: 'flush', exitError: (exit) => new Error(`exited ${String(exit.code)}`) },
    );
    let writes = 0;
    const write = Socket.prototype.write;
    try {
      await child.ready;
      Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
        writes++;
        return (write as (...a: unknown[]) => boolean).apply(this, args);
      } as typeof write;
      // ~2 KiB an event: 100 frames are ~200 KiB.
      const json = JSON.stringify({ data: 'x'.repeat(2000) });
      const answers: Array<Promise<Response>> = [];
      const ask = (): void => {
        answers.push(
          new Promise<Response>((resolve, reject) =>
            child.send({ type: 'ping' } as never, { answered: resolve, failed: reject }, { json, bytes: Buffer.byteLength(json) }),
          ),
        );
      };
      for (let i = 0; i < 100; i++) ask();
      // Written during the loop: 200 KiB in 64 KiB bursts, the rest on the next tick.
      assert.ok(writes >= 3, `expected the burst written as it was made, got ${writes} writes before the tick ended`);
      const before = writes;
      ask();
      assert.equal(writes, before, 'a frame below the threshold waits for the tick to end');
      const got = await Promise.all(answers);
      assert.deepEqual(
        got.map((answer) => answer.type),
        Array.from({ length: 101 }, () => 'pong'),
      );
      assert.deepEqual(
        got.map((answer) => answer.id),
        got.map((_, i) => (got[0] as Response).id as number + i),
      );
    } finally {
      Socket.prototype.write = write;
      await child.shutdown();
    }
  });
});
