// What the host and the Python runtime do to keep each event's frames cheap
// (issue 18, point 5; docs/performance.md): the host writes a request's JSON
// with its id spliced in and a tick's frames in one buffer, and encodes each
// event once for both its getConfiguration and its handle frame; the Python
// runtime builds its JSON encoders once. Each test checks that the cheap way
// gives exactly what the plain way gave. Needs python3.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type { ExtensionTask, HandleResult } from '../../src/extensions/contract.js';
import { toWorkerCopy } from '../../src/extensions/handler.js';
import type { TaskRunner } from '../../src/extensions/main-side.js';
import { AnswerToCome } from '../../src/extensions/main-side.js';
import { encodeEvent, encodeFrames, FrameDecoder, MAX_FRAME_BYTES, RequestBatch, requestText, type EncodedEvent } from '../../src/extensions/protocol.js';
import { PYTHON_RUNTIME, PythonExtensions } from '../../src/extensions/python.js';
import { PythonMainSide } from '../../src/extensions/python-main-side.js';
import { createHost } from '../../src/host.js';
import type { Logger } from '../../src/logger.js';
import { ProcessPool } from '../../src/extensions/process-pool.js';
import { TaskSignal } from '../../src/extensions/task-signal.js';
import { waitFor } from '../helpers/wait-for.js';
import { silentLogger } from '../../src/logger.js';

const FOLDER = fileURLToPath(new URL('./fixtures/conformance/', import.meta.url));

/** An encoded event's JSON: its text, or the bytes its first frame left (then the text is gone). */
function textOf(event: EncodedEvent): string {
  return keptText(event) ?? event.json;
}

/** The bytes an encoded event's first frame left, as text (its frame's buffer, from utf8At). */
function keptText(event: EncodedEvent): string | undefined {
  const kept = event.utf8In;
  return kept === undefined ? undefined : Buffer.from(kept.buffer, kept.byteOffset + (event.utf8At ?? 0), event.bytes).toString('utf8');
}

/** The decision an AnswerToCome gives, as a promise (the handler listens instead). */
function answerOf(decision: unknown): Promise<unknown> {
  assert.ok(decision instanceof AnswerToCome);
  return new Promise((resolve, reject) => decision.listen({ decided: (_token, value) => resolve(value), failed: (_token, err) => reject(err) }, undefined));
}

/** An AnswerToCome settled by hand. */
class Settled extends AnswerToCome {
  give(value: unknown): void {
    this.decide(value);
  }
  refuse(error: unknown): void {
    this.fail(error);
  }
}

describe('AnswerToCome: a decision handed to its listener, no promise', () => {
  test('the listener gets the decision or the failure once, with its token, whether it listened before or after', () => {
    const got: string[] = [];
    const listener = {
      decided: (token: string, value: unknown) => got.push(`${token} decided ${String(value)}`),
      failed: (token: string, err: unknown) => got.push(`${token} failed ${(err as Error).message}`),
    };
    const before = new Settled();
    before.listen(listener, 'a');
    assert.deepEqual(got, []);
    before.give('conf');
    const after = new Settled();
    after.give(null);
    after.listen(listener, 'b');
    const refused = new Settled();
    refused.refuse(new Error('no'));
    refused.listen(listener, 'c');
    const refusedLater = new Settled();
    refusedLater.listen(listener, 'd');
    refusedLater.refuse(new Error('gone'));
    assert.deepEqual(got, ['a decided conf', 'b decided null', 'c failed no', 'd failed gone']);
  });

  test('a listener that throws on the decision gets the error as its failure: the answers read after it still arrive', () => {
    const failures: unknown[] = [];
    const answer = new Settled();
    answer.listen({ decided: () => { throw new Error('broken listener'); }, failed: (_token, err) => failures.push(err) }, undefined);
    assert.doesNotThrow(() => answer.give('conf'));
    assert.match(String(failures[0]), /broken listener/);
  });
});

describe('host frames', () => {
  test('a request is written with its id first and, when given, its event as already encoded; frames of a burst share one buffer', () => {
    const plain = requestText({ type: 'ping' }, 7);
    assert.deepEqual(JSON.parse(plain.text), { id: 7, type: 'ping' });
    const event = { id: '100', data: { path: '/in/é.txt' } };
    const withEvent = requestText({ type: 'getConfiguration' }, 8, JSON.stringify(event));
    assert.deepEqual(JSON.parse(withEvent.text), { id: 8, type: 'getConfiguration', event });
    assert.equal(withEvent.size, Buffer.byteLength(withEvent.text));
    const frames = encodeFrames([plain.text, withEvent.text], [plain.size, withEvent.size]);
    assert.deepEqual(new FrameDecoder().push(frames), [
      { id: 7, type: 'ping' },
      { id: 8, type: 'getConfiguration', event },
    ]);
  });

  test('a batch of requests kept as parts is, byte for byte, the frames of their joined texts', () => {
    const event = { id: '100', data: { path: '/in/é€😀.txt' } };
    const encoded = encodeEvent(event);
    assert.equal(encoded.bytes, Buffer.byteLength(encoded.json));
    // A constant message given again (its JSON encoded once), and ids of every length.
    const asked = { type: 'getConfiguration' } as const;
    const requests = [
      [{ type: 'ping' }, 1, undefined],
      [asked, 2, encoded],
      [{ type: 'handle', module: 'm', class: 'C', configuration: 'ç€', deadline: 32503680000000 }, 3, encoded],
      [{ type: 'handle', module: 'm', class: 'C', event, configuration: 'plain' }, 4, undefined],
      [asked, 0, encoded],
      [asked, 10, encoded],
      [asked, 99, encoded],
      [{ type: 'ping' }, 1_000_000, undefined],
      [asked, 9_007_199_254_740_991, encoded],
    ] as const;
    const batch = new RequestBatch();
    for (const [message, id, withEvent] of requests) batch.add(message, id, withEvent);
    assert.equal(batch.size, requests.length);
    const texts = requests.map(([message, id, withEvent]) => requestText(message, id, withEvent?.json));
    const expected = encodeFrames(
      texts.map((t) => t.text),
      texts.map((t) => t.size),
    );
    assert.deepEqual(batch.take(), expected);
    // Its first frame written, the event keeps its bytes and lets its text go; a later batch copies the bytes.
    assert.equal(encoded.json, '');
    assert.equal(keptText(encoded), JSON.stringify(event));
    batch.add(asked, 7, encoded);
    const again = requestText(asked, 7, JSON.stringify(event));
    assert.deepEqual(batch.take(), encodeFrames([again.text], [again.size]));
    // A text two frames in a row share is encoded once and copied, in that batch and the next; a different text of the same length is its own.
    const handle = (deadline: number) => ({ type: 'handle', module: 'm', class: 'C', configuration: 'ç€😀', deadline }) as const;
    for (let round = 0; round < 2; round++) {
      const more = [handle(32503680000001), handle(32503680000001), handle(32503680000002), handle(32503680000001), asked, asked, handle(32503680000002)];
      more.forEach((message, i) => batch.add(message, 20 + i, i % 2 === 0 ? encoded : undefined));
      const moreTexts = more.map((message, i) => requestText(message, 20 + i, i % 2 === 0 ? JSON.stringify(event) : undefined));
      assert.deepEqual(
        batch.take(),
        encodeFrames(
          moreTexts.map((t) => t.text),
          moreTexts.map((t) => t.size),
        ),
      );
    }
    // Taken: the batch is empty again.
    assert.equal(batch.size, 0);
    assert.equal(batch.take().length, 0);
    // A request over the limit adds nothing.
    assert.throws(() => batch.add({ type: 'getConfiguration' }, 5, { json: '""', bytes: MAX_FRAME_BYTES }), RangeError);
    assert.equal(batch.size, 0);
  });

  test('the decoder gives the same messages whatever the chunks a stream arrives in', () => {
    const messages = [{ id: 1, type: 'result', result: 'é€' }, { id: 2, type: 'decision', decision: { action: 'handle', configuration: 'x' } }, { id: 3, type: 'pong' }];
    const stream = encodeFrames(
      messages.map((m) => JSON.stringify(m)),
      messages.map((m) => Buffer.byteLength(JSON.stringify(m))),
    );
    for (let chunk = 1; chunk <= stream.length; chunk++) {
      const decoder = new FrameDecoder();
      const got: unknown[] = [];
      for (let at = 0; at < stream.length; at += chunk) got.push(...decoder.push(stream.subarray(at, at + chunk)));
      assert.deepEqual(got, messages, `chunks of ${chunk} bytes`);
    }
  });

  test('a request over the frame limit is refused before it is sent', () => {
    assert.throws(() => requestText({ type: 'handle', module: 'm', class: 'C', configuration: '' }, 1, `"${'x'.repeat(MAX_FRAME_BYTES)}"`), RangeError);
  });
});

describe('Python main side: each event encoded once', () => {
  const python = new PythonExtensions({ folder: FOLDER, poolSize: 1, logger: silentLogger() });
  const mains: PythonMainSide[] = [];
  after(async () => {
    await Promise.all(mains.map((main) => main.close()));
    await python.close();
  });

  test('the handle task of an event gets the JSON its getConfiguration frame carried, once, and only for the same copy', async () => {
    const given: Array<string | undefined> = [];
    const runner: TaskRunner = {
      run: (_task: ExtensionTask, _signal, event?: EncodedEvent) => {
        // The size handed on with the JSON is its UTF-8 size (the frame's length prefix counts on it).
        if (event !== undefined) assert.equal(event.bytes, Buffer.byteLength(textOf(event), 'utf8'));
        given.push(event === undefined ? undefined : textOf(event));
        return Promise.resolve<HandleResult>('ok');
      },
      describeFailure: (err) => err as Error,
    };
    let grant = false;
    let copies = 0;
    const main = new PythonMainSide({
      handler: 'frames',
      entryPoint: 'python:conformance_handler.ConformanceHandler',
      module: 'conformance_handler',
      exportName: 'ConformanceHandler',
      command: python.command('main'),
      runner,
      logger: silentLogger(),
      lifecycleLimitMs: 30_000,
      toEvent: (event) => {
        copies++;
        return toWorkerCopy(event, grant);
      },
      ownCopy: (event) => !grant || event.account.token === undefined,
      onCrash: () => undefined,
    });
    mains.push(main);
    await main.load();
    const host = createHost();
    host.catalogue.declare({ id: '100', name: 'frames' });
    const event = await host.emit('100', { account: { name: 'text', token: 'secret' }, data: { path: '/in/a.csv' } });
    const parent = { configuration: 'conf', name: 'frames', uuid: 'u', delay: () => { throw new Error('no delay'); }, emit: () => Promise.resolve([]) } as never;
    await main.start(parent);
    const decision = main.getConfiguration(event, parent, 'conf');
    assert.ok(decision instanceof AnswerToCome);
    assert.equal(await answerOf(decision), 'configured:conf');
    assert.equal(copies, 0, 'an own copy (no token shown) is not made: the frame is written from the event');

    const copy = toWorkerCopy(event, false);
    await main.runner.run({ module: main.module, exportName: main.exportName, event: copy, configuration: 'configured:conf' });
    assert.equal(given[0], JSON.stringify(copy));
    // Taken once: a second task for it encodes again.
    await main.runner.run({ module: main.module, exportName: main.exportName, event: copy, configuration: 'x' });
    assert.equal(given[1], undefined);

    // A copy that differs (here: the token granted) never takes another copy's JSON.
    grant = true;
    await answerOf(main.getConfiguration(event, parent, 'conf'));
    assert.equal(copies, 1, 'a copy showing the granted token is made');
    await main.runner.run({ module: main.module, exportName: main.exportName, event: toWorkerCopy(event, false), configuration: 'x' });
    assert.equal(given[2], undefined);
    // The same granted copy does.
    await answerOf(main.getConfiguration(event, parent, 'conf'));
    const granted = toWorkerCopy(event, true);
    await main.runner.run({ module: main.module, exportName: main.exportName, event: granted, configuration: 'x' });
    assert.equal(given[3], JSON.stringify(granted));
    assert.match(given[3] ?? '', /"token":"secret"/);
  });

  test('an event skipped, rejected or too large keeps no JSON: its memory goes at once', async () => {
    const given: Array<string | undefined> = [];
    const runner: TaskRunner = {
      run: (_task: ExtensionTask, _signal, event?: EncodedEvent) => {
        // The size handed on with the JSON is its UTF-8 size (the frame's length prefix counts on it).
        if (event !== undefined) assert.equal(event.bytes, Buffer.byteLength(textOf(event), 'utf8'));
        given.push(event === undefined ? undefined : textOf(event));
        return Promise.resolve<HandleResult>('ok');
      },
      describeFailure: (err) => err as Error,
    };
    const main = new PythonMainSide({
      handler: 'frames-gone',
      entryPoint: 'python:conformance_handler.ConformanceHandler',
      module: 'conformance_handler',
      exportName: 'ConformanceHandler',
      command: python.command('main'),
      runner,
      logger: silentLogger(),
      lifecycleLimitMs: 30_000,
      toEvent: (event) => toWorkerCopy(event, false),
      onCrash: () => undefined,
    });
    mains.push(main);
    await main.load();
    const host = createHost();
    host.catalogue.declare({ id: '100', name: 'frames' });
    const parent = { configuration: 'conf', name: 'frames', uuid: 'u', delay: () => { throw new Error('no delay'); }, emit: () => Promise.resolve([]) } as never;
    await main.start(parent);
    const skipped = await host.emit('100', { account: { name: 'none' } });
    assert.equal(await answerOf(main.getConfiguration(skipped, parent, 'conf')), null);
    const rejected = await host.emit('100', { account: { name: 'raise' } });
    await assert.rejects(answerOf(main.getConfiguration(rejected, parent, 'conf')), /refused 100/);
    const large = await host.emit('100', { account: { name: 'text' }, data: { blob: 'x'.repeat(70_000) } });
    assert.equal(await answerOf(main.getConfiguration(large, parent, 'conf')), 'configured:conf');
    for (const event of [skipped, rejected, large]) {
      await main.runner.run({ module: main.module, exportName: main.exportName, event: toWorkerCopy(event, false), configuration: 'x' });
    }
    assert.deepEqual(given, [undefined, undefined, undefined]);
  });
});

describe('Python runtime encoders', () => {
  test('data_json, the answers and the JSON check give what json.dumps gives; a failed encoding leaves no false cycle behind', () => {
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(PYTHON_RUNTIME.replace(/[\\/][^\\/]*$/, ''))})
import hookwork_runtime as r
values = [{"path": "/in/\\u00e9.txt", "size": 3, "f": 1.5, "n": None, "l": [1, {"a": True}]}, {}, [], {"1": -0.0, "big": 10**30}]
for value in values:
    assert r.DATA_JSON(value) == json.dumps(value), value
    assert r.CHECKER(value) == json.dumps(value), value
    assert r.ENCODER(value) == json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(',', ':')), value
replies = [({'type': 'result', 'result': 'ok \\u00e9 "q" \\u2028'}, 5), ({'type': 'result', 'result': None}, 6),
           ({'type': 'result', 'result': {'message': 'm'}}, 7), ({'type': 'decision', 'decision': {'action': 'handle', 'configuration': 'c\\n'}}, 8),
           ({'type': 'decision', 'decision': {'action': 'handle', 'configuration': 'c', 'events': ['e']}}, 9),
           ({'type': 'decision', 'decision': {'action': 'skip'}}, 10), ({'type': 'result', 'result': 'x'}, 'not-an-int')]
for reply, request_id in replies:
    expected = dict(reply, id=request_id)
    assert json.loads(r.reply_text(dict(reply), request_id)) == expected, reply
value = [{1, 2}]
try:
    r.CHECKER(value)
    raise SystemExit('a set encoded')
except TypeError:
    pass
value[0] = 1
assert r.CHECKER(value) == '[1]', 'a false cycle after a failed encoding'
try:
    a = []
    a.append(a)
    r.CHECKER(a)
    raise SystemExit('a cycle encoded')
except ValueError:
    pass
print('ok')
`;
    const run = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    assert.equal(run.stderr, '');
    assert.equal(run.stdout.trim(), 'ok');
  });
});

describe('process pool: log tags', () => {
  test("a worker's stderr lines name the handler whose frame it was sent last, switching as handlers change", async () => {
    const lines: Array<{ extension: unknown; line: string }> = [];
    const logger: Logger = {
      debug: () => undefined,
      info: (obj, msg) => {
        if ((obj as { stream?: unknown }).stream === 'stderr') lines.push({ extension: (obj as { extension?: unknown }).extension, line: msg ?? '' });
      },
      warn: () => undefined,
      error: () => undefined,
      child: () => logger,
    };
    const python = new PythonExtensions({ folder: FOLDER, poolSize: 1, logger });
    const pool = new ProcessPool({ size: 1, command: python.command('worker'), name: 'python', logger });
    const host = createHost();
    host.catalogue.declare({ id: '100', name: 'frames' });
    const printing = toWorkerCopy(await host.emit('100', { account: { name: 'print' } }), false);
    try {
      const expectations: Array<[string, string]> = [
        ['ConformanceHandler', 'hello from handle'],
        ['PrintingHandler', 'hello from PrintingHandler'],
        ['ConformanceHandler', 'hello from handle'],
      ];
      for (const [exportName, line] of expectations) {
        const before = lines.length;
        assert.equal(await pool.run({ module: 'conformance_handler', exportName, event: printing, configuration: '' }), 'printed');
        await waitFor(() => lines.length > before, { what: `the line printed by ${exportName}` });
        assert.deepEqual(lines[before], { extension: `python worker conformance_handler.${exportName}`, line });
      }
    } finally {
      await pool.close();
    }
  });
});

describe('process pool: runTo', () => {
  test("runTo hands the result to the listener with its token as the answer is read, the handler's error and a refusal on a later microtask", async () => {
    const python = new PythonExtensions({ folder: FOLDER, poolSize: 1, logger: silentLogger() });
    const pool = new ProcessPool({ size: 1, command: python.command('worker'), name: 'python', logger: silentLogger() });
    const host = createHost();
    host.catalogue.declare({ id: '100', name: 'frames' });
    const task = async (name: string) => ({ module: 'conformance_handler', exportName: 'ConformanceHandler', event: toWorkerCopy(await host.emit('100', { account: { name } }), false), configuration: 'conf' });
    const got: string[] = [];
    const listener = {
      handled: (token: string, result: unknown) => got.push(`${token}: ${String(result)}`),
      failed: (token: string, err: unknown) => got.push(`${token} failed: ${(err as Error).message}`),
    };
    try {
      pool.runTo(await task('text'), undefined, undefined, listener, 'first');
      pool.runTo(await task('raise'), undefined, undefined, listener, 'second');
      await waitFor(() => got.length === 2, { what: 'both outcomes' });
      assert.deepEqual(got, ['first: handled conf', 'second failed: bad value conf']);
    } finally {
      await pool.close();
    }
    // Refused at once (the pool is closed), yet never inside runTo: the caller has returned first, as with a rejected promise.
    pool.runTo(await task('text'), undefined, undefined, listener, 'third');
    assert.equal(got.length, 2);
    await Promise.resolve();
    assert.match(got[2] ?? '', /^third failed: .*closed/);
  });

  test('handle frames of already encoded events each carry their own configuration, whether the request before said the same or not', async () => {
    const python = new PythonExtensions({ folder: FOLDER, poolSize: 1, logger: silentLogger() });
    const pool = new ProcessPool({ size: 1, command: python.command('worker'), name: 'python', logger: silentLogger() });
    const host = createHost();
    host.catalogue.declare({ id: '100', name: 'frames' });
    const copy = toWorkerCopy(await host.emit('100', { account: { name: 'text' } }), false);
    const signal = (expiresAt: number): TaskSignal => Object.assign(new TaskSignal(), { expiresAt });
    const past = Date.now() - 60_000;
    const later = Date.now() + 600_000;
    // [configuration, deadline (0: none)]: repeats, a change of either, and back.
    const runs: Array<[string, number]> = [['a', later], ['a', later], ['b', later], ['b', past], ['b', past], ['b', later], ['b', 0], ['a', 0], ['a', past], ['a', 0]];
    try {
      const outcomes = await Promise.all(
        runs.map(([configuration, deadline]) =>
          pool
            .run({ module: 'conformance_handler', exportName: 'ConformanceHandler', event: copy, configuration }, deadline === 0 ? undefined : signal(deadline), encodeEvent(copy))
            .then(
              (result) => String(result),
              (err: unknown) => (err as Error).name,
            ),
        ),
      );
      // A deadline already past is refused before any frame (AbortError); the others reach the worker with their own configuration.
      assert.deepEqual(outcomes, ['handled a', 'handled a', 'handled b', 'AbortError', 'AbortError', 'handled b', 'handled b', 'handled a', 'AbortError', 'handled a']);
    } finally {
      await pool.close();
    }
  });
});
