// The two answers a Python runtime gives for nearly every event, read
// without JSON.parse: a handle() result that is a text, and a
// getConfiguration decision to handle with a text configuration. The runtime
// writes them in one fixed form (python/hookwork_runtime.py, reply_text):
//
//   {"type":"result","id":N,"result":"…"}
//   {"type":"decision","id":N,"decision":{"action":"handle","configuration":"…"}}
//
// A frame of exactly that form, whose text has no escape (no backslash) and
// no byte JSON refuses in a string (below 0x20), is decoded here: the same
// object JSON.parse gives, members in the same order. Anything else (another
// answer, an escape, a long text, a malformed frame) returns undefined and
// goes to JSON.parse as before. Per event this spares decoding the frame to
// a string (~70 characters) and parsing it: two frames an event.

const RESULT_HEAD = Buffer.from('{"type":"result","id":', 'latin1');
const RESULT_KEY = Buffer.from(',"result":"', 'latin1');
const DECISION_HEAD = Buffer.from('{"type":"decision","id":', 'latin1');
const DECISION_KEY = Buffer.from(',"decision":{"action":"handle","configuration":"', 'latin1');
/** A longer text goes to JSON.parse (its scan here is a loop in JavaScript). */
const MAX_TEXT_BYTES = 256;
/** Ids are safe integers: at most 15 digits here. */
const MAX_ID_DIGITS = 15;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE = 0x7d;

/** Whether `buffer` holds `bytes` at `at`. */
function startsWith(buffer: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (buffer.length - at < bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buffer[at + i] !== bytes[i]) return false;
  return true;
}

/**
 * The usual answer in buffer[start, end) decoded, or undefined for any
 * other frame (then JSON.parse it).
 */
export function decodeUsualAnswer(buffer: Buffer, start: number, end: number): object | undefined {
  const isResult = startsWith(buffer, start, RESULT_HEAD);
  if (!isResult && !startsWith(buffer, start, DECISION_HEAD)) return undefined;
  let at = start + (isResult ? RESULT_HEAD.length : DECISION_HEAD.length);
  // The id: digits, no leading zero (JSON's own rule), a safe integer.
  const first = at;
  let id = 0;
  while (at < end && (buffer[at] as number) >= 0x30 && (buffer[at] as number) <= 0x39) id = id * 10 + ((buffer[at++] as number) - 0x30);
  const digits = at - first;
  if (digits === 0 || digits > MAX_ID_DIGITS || (digits > 1 && buffer[first] === 0x30)) return undefined;
  const key = isResult ? RESULT_KEY : DECISION_KEY;
  if (!startsWith(buffer, at, key)) return undefined;
  at += key.length;
  // The text, then its closing quote and the frame's end: `"}` (a result) or `"}}` (a decision).
  const tail = isResult ? 2 : 3;
  const textEnd = end - tail;
  if (textEnd < at || textEnd - at > MAX_TEXT_BYTES) return undefined;
  if (buffer[textEnd] !== QUOTE || buffer[textEnd + 1] !== CLOSE || (!isResult && buffer[textEnd + 2] !== CLOSE)) return undefined;
  for (let i = at; i < textEnd; i++) {
    const byte = buffer[i] as number;
    if (byte < 0x20 || byte === BACKSLASH || byte === QUOTE) return undefined;
  }
  const text = buffer.toString('utf8', at, textEnd);
  return isResult ? { type: 'result', id, result: text } : { type: 'decision', id, decision: { action: 'handle', configuration: text } };
}
