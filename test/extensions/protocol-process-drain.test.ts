// A process's exit can be seen before the answers it wrote have been read
// (here: a child of the runtime, holding its stdout, writes them once the
// runtime is gone). ProtocolProcess reads stdout to its end before it fails
// what is still pending: answers written are delivered, never lost (a pool
// would otherwise re-run those events). Needs python3.

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ProtocolProcess, type ProcessExit } from '../../src/extensions/protocol-process.js';
import { silentLogger } from '../../src/logger.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/pipeline/late_answers.py', import.meta.url));

describe('protocol process: the end of a process', () => {
  test('answers still in its stdout when its exit is seen are delivered before pending requests fail', async () => {
    let exited: ProcessExit | undefined;
    const child = new ProtocolProcess(
      { file: 'python3', args: ['-u', SCRIPT] },
      {
        role: 'worker',
        logger: silentLogger(),
        tag: 'late answers',
        exitError: (exit) => new Error(`exited ${String(exit.code)}`),
        onExit: (exit) => {
          exited = exit;
        },
      },
    );
    await child.ready;
    const handle = { type: 'handle', module: 'm', class: 'C', event: {}, configuration: '' } as const;
    const answers = await Promise.all([child.request(handle), child.request(handle)]);
    assert.deepEqual(
      answers.map((answer) => (answer as { result: unknown }).result),
      ['late 1', 'late 2'],
    );
    await new Promise<void>((resolve) => {
      const check = (): void => (exited === undefined ? void setImmediate(check) : resolve());
      check();
    });
    assert.equal(exited?.code, 7);
  });
});
