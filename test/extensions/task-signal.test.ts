import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskSignal } from '../../src/extensions/task-signal.js';

describe('TaskSignal', () => {
  it('onAbort calls its target once, with its token, on abort', () => {
    const signal = new TaskSignal();
    const calls: unknown[] = [];
    const token = { entry: 1 };
    signal.onAbort({ abortedTask: (t) => calls.push(t) }, token);
    signal.abort(new Error('limit'));
    signal.abort(new Error('again'));
    assert.deepEqual(calls, [token]);
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as Error).message, 'limit');
  });

  it('keeps one listener: a later onAbort replaces the earlier one', () => {
    const calls: string[] = [];
    const target = { abortedTask: (t: string) => calls.push(`target ${t}`) };
    const other = { abortedTask: (t: string) => calls.push(`other ${t}`) };
    const a = new TaskSignal();
    a.onAbort(target, 'a');
    a.onAbort(other, 'a2');
    a.abort(undefined);
    assert.deepEqual(calls, ['other a2']);
  });

  it('offAbort drops onAbort\'s listener only while it is the one given that token', () => {
    const calls: string[] = [];
    const target = { abortedTask: (t: string) => calls.push(t) };
    const a = new TaskSignal();
    a.onAbort(target, 'first');
    a.offAbort('first');
    a.abort(undefined);
    const b = new TaskSignal();
    b.onAbort(target, 'first');
    b.onAbort(target, 'second');
    b.offAbort('first'); // an earlier task's answer: the later listener stays
    b.abort(undefined);
    assert.deepEqual(calls, ['second']);
  });
});
