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

  it('keeps one listener: addEventListener and onAbort replace each other, removeEventListener clears it', () => {
    const calls: string[] = [];
    const target = { abortedTask: (t: string) => calls.push(`target ${t}`) };
    const a = new TaskSignal();
    a.onAbort(target, 'a');
    a.addEventListener('abort', () => calls.push('closure a'));
    a.abort(undefined);
    const b = new TaskSignal();
    b.addEventListener('abort', () => calls.push('closure b'));
    b.onAbort(target, 'b');
    b.abort(undefined);
    const c = new TaskSignal();
    c.onAbort(target, 'c');
    c.removeEventListener();
    c.abort(undefined);
    assert.deepEqual(calls, ['closure a', 'target b']);
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
    const c = new TaskSignal();
    c.addEventListener('abort', () => calls.push('closure'));
    c.offAbort(undefined);
    c.abort(undefined);
    assert.deepEqual(calls, ['second', 'closure']);
  });
});
