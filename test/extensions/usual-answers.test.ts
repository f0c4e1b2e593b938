// The usual answers (a text result, a text configuration) are read without
// JSON.parse: for every frame, what the decoder gives must be what
// JSON.parse gives (the same members in the same order), and any frame not
// of the usual form must be left to JSON.parse.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { FrameDecoder } from '../../src/extensions/protocol.js';
import { decodeUsualAnswer } from '../../src/extensions/usual-answers.js';

const decode = (text: string): object | undefined => {
  const bytes = Buffer.from(`xx${text}yy`, 'utf8'); // at an offset, with bytes after it
  return decodeUsualAnswer(bytes, 2, bytes.length - 2);
};

const same = (text: string): void => {
  const decoded = decode(text);
  assert.notEqual(decoded, undefined, `decoded here: ${text}`);
  const parsed = JSON.parse(text) as object;
  assert.deepEqual(decoded, parsed, text);
  assert.equal(JSON.stringify(decoded), JSON.stringify(parsed), `members in the same order: ${text}`);
};

test('the usual result and decision frames decode to what JSON.parse gives', () => {
  for (const text of ['ok', '', 'mismatch', '5000', 'configured:conf', 'é ü 😀 中文', "it's / fine", 'x'.repeat(256)]) {
    for (const id of [0, 1, 7, 42, 1234567, 999999999999999]) {
      same(`{"type":"result","id":${id},"result":${JSON.stringify(text)}}`);
      same(`{"type":"decision","id":${id},"decision":{"action":"handle","configuration":${JSON.stringify(text)}}}`);
    }
  }
});

test('every other frame is left to JSON.parse (undefined here)', () => {
  const others = [
    '{"type":"result","id":1,"result":"a\\"b"}', // an escape
    '{"type":"result","id":1,"result":"tab\\there"}',
    '{"type":"result","id":1,"result":"\\u00e9"}',
    `{"type":"result","id":1,"result":"${'x'.repeat(257)}"}`, // long
    '{"type":"result","id":1,"result":null}',
    '{"type":"result","id":1,"result":{"message":"m"}}',
    '{"type":"result","id":01,"result":"ok"}', // JSON refuses a leading zero
    '{"type":"result","id":-1,"result":"ok"}',
    '{"type":"result","id":1.5,"result":"ok"}',
    '{"type":"result","id":1234567890123456,"result":"ok"}', // 16 digits
    '{"type":"result","id":1,"result":"ok"} ',
    '{"type":"result","id":1,"result":"ok"',
    '{"type":"result","id":1,"result":"o"k"}',
    '{"type":"result","id":1,"result":"raw\ncontrol"}',
    '{"type":"result","id":,"result":"ok"}',
    '{"type":"result","result":"ok","id":1}',
    '{"type":"decision","decision":{"action":"default"},"id":3}',
    '{"type":"decision","id":3,"decision":{"action":"handle","configuration":"c","events":[]}}',
    '{"type":"decision","id":3,"decision":{"action":"skip"}}',
    '{"type":"decision","id":3,"decision":{"action":"handle","configuration":"c"}',
    '{"type":"decision","id":3,"decision":{"action":"handle","configuration":"c"}}}',
    '{"type":"error","id":2,"error":{"type":"ValueError","message":"m","traceback":""}}',
    '{"type":"expired","id":2}',
    '{"type":"hello","protocol":1}',
    '{"type":"result","id":1,"result":"ok"}}',
  ];
  for (const text of others) assert.equal(decode(text), undefined, text);
});

test('FrameDecoder gives the same messages with the usual frames among others, split anywhere', () => {
  const texts = [
    '{"type":"decision","id":1,"decision":{"action":"handle","configuration":"5000"}}',
    '{"type":"result","id":2,"result":"ok"}',
    '{"type":"result","id":3,"result":"a\\"b"}',
    '{"type":"decision","decision":{"action":"default"},"id":4}',
    '{"type":"result","id":5,"result":"é"}',
  ];
  const frames = Buffer.concat(texts.map((text) => {
    const body = Buffer.from(text, 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    return Buffer.concat([head, body]);
  }));
  for (let split = 0; split <= frames.length; split += 7) {
    const decoder = new FrameDecoder();
    const messages = [...decoder.push(frames.subarray(0, split)), ...decoder.push(frames.subarray(split))];
    assert.deepEqual(messages, texts.map((text) => JSON.parse(text) as unknown));
  }
});

test('the Python runtime\'s own bytes for a text result and a text configuration take the usual form', () => {
  const script = [
    'import sys, importlib.util',
    `spec = importlib.util.spec_from_file_location("rt", ${JSON.stringify(new URL('../../python/hookwork_runtime.py', import.meta.url).pathname)})`,
    'rt = importlib.util.module_from_spec(spec); spec.loader.exec_module(rt)',
    'print(rt.reply_text({"type": "result", "result": "ok é"}, 12))',
    'print(rt.reply_text({"type": "decision", "decision": {"action": "handle", "configuration": "5000"}}, 13))',
  ].join('\n');
  const lines = execFileSync('python3', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(decode(lines[0] as string), { type: 'result', id: 12, result: 'ok é' });
  assert.deepEqual(decode(lines[1] as string), { type: 'decision', id: 13, decision: { action: 'handle', configuration: '5000' } });
});
