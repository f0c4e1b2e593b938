// The extension process protocol (docs/extension-protocol.md), version 1:
// what the host and a handler runtime (Python today, Node next) say to each
// other over the runtime's stdin/stdout, and the frames that carry it. Each
// frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
// Types only and the frame codec: nothing here starts a process.

import { decodeUsualAnswer } from './usual-answers.js';

export const PROTOCOL_VERSION = 1;
/** The largest frame either side accepts (bytes of JSON). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** A runtime's exit codes with a meaning of their own. */
export const EXIT_CODES = Object.freeze({ protocolError: 2, outOfMemory: 3 });

export type ProcessRole = 'main' | 'worker';

/** The runtime's first frame, unasked. */
export interface HelloMessage {
  readonly type: 'hello';
  readonly protocol: number;
  readonly role: ProcessRole;
  readonly runtime: string;
  readonly runtime_version?: string;
  readonly pid?: number;
  /** The request types it serves. */
  readonly capabilities: readonly string[];
}

/** Both roles: import the module and build the class once. */
export interface InitRequest {
  readonly type: 'init';
  readonly module: string;
  readonly class: string;
}
/** Main: onStart(parent). */
export interface StartRequest {
  readonly type: 'start';
  readonly configuration: string;
  readonly name: string;
  readonly uuid: string;
}
/** Main: onStop(); pending delayed calls are forgotten. */
export interface StopRequest {
  readonly type: 'stop';
}
/** Main: getConfiguration(event). */
export interface GetConfigurationRequest {
  readonly type: 'getConfiguration';
  readonly event: unknown;
}
/** Main: the host's timer for a `delay` decision fired; run its function. */
export interface CallRequest {
  readonly type: 'call';
  readonly call: number;
}
/** Worker: the static handle(event, configuration). */
export interface HandleRequest {
  readonly type: 'handle';
  readonly module: string;
  readonly class: string;
  readonly event: unknown;
  readonly configuration: string;
  /**
   * Optional: when the event's limit passes, in milliseconds since the Unix
   * epoch (wall clock). A runtime that reaches the frame at or after it
   * answers `expired` without calling handle.
   */
  readonly deadline?: number;
}
export interface PingRequest {
  readonly type: 'ping';
}
export interface ShutdownRequest {
  readonly type: 'shutdown';
}

export type Request =
  | InitRequest
  | StartRequest
  | StopRequest
  | GetConfigurationRequest
  | CallRequest
  | HandleRequest
  | PingRequest
  | ShutdownRequest;

/** A request that carries an `event`, without it: the host sends that event already encoded (ProtocolProcess.request). */
export type EventlessRequest = Omit<GetConfigurationRequest, 'event'> | Omit<HandleRequest, 'event'>;

/** A getConfiguration (or call) answer. `events` is the raw value the handler gave (a text, an object or a list). */
export type Decision =
  | { readonly action: 'handle'; readonly configuration: string; readonly events?: unknown }
  | { readonly action: 'skip'; readonly events?: unknown }
  | { readonly action: 'delay'; readonly seconds: number; readonly call: number }
  | { readonly action: 'default' }
  | { readonly action: 'invalid'; readonly returned: string };

export interface RemoteError {
  /** The exception's class name, e.g. `RuntimeError`. */
  readonly type: string;
  readonly message: string;
  /** The full traceback (or stack) as text. */
  readonly traceback: string;
  /** Optional: a machine-readable code the error carried (Node: `ERR_ACCESS_DENIED`). */
  readonly code?: string;
}

export type Response =
  | {
      readonly type: 'ready';
      readonly id: number;
      readonly target_events: readonly string[] | null;
      /** False when the class has no getConfiguration: the host decides alone (absent: ask). */
      readonly get_configuration?: boolean;
    }
  | { readonly type: 'ok'; readonly id: number }
  | { readonly type: 'pong'; readonly id: number }
  | { readonly type: 'decision'; readonly id: number; readonly decision: Decision }
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  /** A handle frame reached at or after its `deadline`: handle was not called. */
  | { readonly type: 'expired'; readonly id: number }
  | { readonly type: 'error'; readonly id: number | null; readonly error: RemoteError };

/** One frame for a message. */
export function encodeFrame(message: unknown): Buffer {
  const json = JSON.stringify(message);
  // One buffer, written once: no intermediate copy of the body.
  const size = Buffer.byteLength(json, 'utf8');
  if (size > MAX_FRAME_BYTES) throw new RangeError(`A protocol frame of ${size} bytes is over the limit of ${MAX_FRAME_BYTES}.`);
  const frame = Buffer.allocUnsafe(4 + size);
  frame.writeUInt32BE(size, 0);
  frame.write(json, 4, 'utf8');
  return frame;
}

/**
 * The JSON text of a request with its `id`, without copying the message
 * (`{...message, id}` per request): the id goes first, which JSON allows.
 * `eventJson`, when given, is the request's `event` as JSON text (the
 * message then has no `event` of its own).
 * Throws a RangeError when its frame would be over MAX_FRAME_BYTES.
 */
export function requestText(message: Request | EventlessRequest, id: number, eventJson?: string): { text: string; size: number } {
  const json = JSON.stringify(message);
  // An event already encoded (the same event goes to getConfiguration, then to handle) is spliced in as is.
  const text = eventJson === undefined ? `{"id":${id},${json.slice(1)}` : `{"id":${id},"event":${eventJson},${json.slice(1)}`;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_FRAME_BYTES) throw new RangeError(`A protocol frame of ${size} bytes is over the limit of ${MAX_FRAME_BYTES}.`);
  return { text, size };
}

/**
 * The frames for several JSON texts (`sizes`: their UTF-8 byte lengths), in
 * one buffer: one allocation and one copy of each text for a burst, instead
 * of a buffer per frame and a second copy to join them.
 */
export function encodeFrames(texts: readonly string[], sizes: readonly number[]): Buffer {
  let total = 0;
  for (const size of sizes) total += 4 + size;
  const buffer = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const size = sizes[i] as number;
    buffer.writeUInt32BE(size, at);
    buffer.write(texts[i] as string, at + 4, size, 'utf8');
    at += 4 + size;
  }
  return buffer;
}

/**
 * An event already encoded as JSON, with its size in UTF-8 bytes: measured
 * once for every frame that carries it. Once a frame carrying it has been
 * encoded (RequestBatch.take), `utf8In` is that frame's buffer and
 * `utf8At` where the event's bytes start in it, and `json` is '': a later
 * frame copies the bytes, and the text (an event's ~600 bytes of heap while
 * it waits for its handle frame) is let go. A buffer and an offset, not a
 * view of the bytes: a view is an object per event that lives as long as
 * the event is in flight, which every young-generation collection of a
 * burst copies (a thousand events in flight); the view a later frame needs
 * is made as it copies the bytes, and dies at once.
 */
export interface EncodedEvent {
  json: string;
  readonly bytes: number;
  /**
   * Instead of `json` (then ''): the text's parts, written straight into
   * the first frame that carries the event (EventJsonParts), the text of
   * the whole never made; let go of once written, as `json` is.
   */
  parts?: EventBytesWriter | undefined;
  utf8In?: Uint8Array | undefined;
  utf8At?: number;
}

/** Writes an event's JSON, `bytes` of UTF-8, into a frame's buffer at `at` (EventJsonParts). */
export interface EventBytesWriter {
  readonly bytes: number;
  writeInto(target: Buffer, at: number): void;
}

/** An event's JSON and its UTF-8 size. */
export function encodeEvent(event: unknown): EncodedEvent {
  const json = JSON.stringify(event);
  return { json, bytes: Buffer.byteLength(json, 'utf8'), parts: undefined, utf8In: undefined, utf8At: 0 };
}

/** A frame's first bytes, and the key before its event. */
const ID_HEAD = Buffer.from('{"id":', 'latin1');
const EVENT_KEY = Buffer.from(',"event":', 'latin1');

/**
 * Requests waiting to be written together (ProtocolProcess writes a tick's
 * requests at once), kept as the parts of their JSON text: the `id`, the
 * `event`'s JSON as it was encoded (when given) and the message's own JSON.
 * `take()` encodes every part straight into one buffer: no request's text
 * is ever joined into one string (a copy of the whole event per frame,
 * which the garbage collector then sweeps), the head (`{"id":N,"event":`)
 * is copied from constant bytes around the id's digits, and the message's JSON is written whole, its
 * opening brace then overwritten by the comma that follows the head or the
 * event (no slice of it, no concatenation). A message object given again
 * (a constant such as getConfiguration's) is encoded once. The bytes are
 * those of requestText.
 */
export class RequestBatch {
  /** Per frame: the event (undefined when none). */
  #events: Array<EncodedEvent | undefined> = [];
  /** Per frame: the message's JSON. */
  #parts: string[] = [];
  /** Three per frame: the id, the event's bytes (-1 when none), the frame's bytes (without its length prefix). */
  #sizes: number[] = [];
  #total = 0;
  /** The last message added and its JSON (a constant message is encoded once). */
  #lastMessage: unknown;
  #lastJson = '';
  #lastBytes = 0;
  /** The last message JSON that two frames in a row had, and its UTF-8 bytes (kept across batches: the same request repeats). */
  #repeated = '';
  #repeatedBytes: Buffer = Buffer.alloc(0);

  get size(): number {
    return this.#sizes.length / 3;
  }

  /** The bytes of the frames added so far (length prefixes included). */
  get bytes(): number {
    return this.#total;
  }

  /** Adds one request (not changed afterwards: the same object given again is taken for the same JSON); throws a RangeError (adding nothing) when its frame would be over MAX_FRAME_BYTES. */
  add(message: Request | EventlessRequest, id: number, event?: EncodedEvent): void {
    let json: string;
    let jsonBytes: number;
    if (message === this.#lastMessage) {
      json = this.#lastJson;
      jsonBytes = this.#lastBytes;
    } else {
      json = JSON.stringify(message);
      jsonBytes = Buffer.byteLength(json, 'utf8');
      this.#lastMessage = message;
      this.#lastJson = json;
      this.#lastBytes = jsonBytes;
    }
    // `{"id":` (6), the id's digits, `,"event":` (9) and the event when given; the message's `{` counts for the comma after them.
    const head = ID_HEAD.length + digitsOf(id) + (event === undefined ? 0 : EVENT_KEY.length);
    const eventBytes = event === undefined ? -1 : event.bytes;
    const size = head + Math.max(eventBytes, 0) + jsonBytes;
    if (size > MAX_FRAME_BYTES) throw new RangeError(`A protocol frame of ${size} bytes is over the limit of ${MAX_FRAME_BYTES}.`);
    this.#events.push(event);
    this.#parts.push(json);
    this.#sizes.push(id, eventBytes, size);
    this.#total += 4 + size;
  }

  /** The frames added so far, in one buffer; the batch is empty again. */
  take(): Buffer {
    const events = this.#events;
    const parts = this.#parts;
    const sizes = this.#sizes;
    const buffer = Buffer.allocUnsafe(this.#total);
    this.#events = [];
    this.#parts = [];
    this.#sizes = [];
    this.#total = 0;
    this.#lastMessage = undefined;
    this.#lastJson = '';
    let at = 0;
    for (let frame = 0, part = 0; frame < sizes.length; frame += 3, part++) {
      const id = sizes[frame] as number;
      const eventBytes = sizes[frame + 1] as number;
      const size = sizes[frame + 2] as number;
      buffer.writeUInt32BE(size, at);
      let next = at + 4;
      // Constant bytes and kept bytes are copied with the typed array's own set (Buffer's write and copy check their arguments in JavaScript first).
      buffer.set(ID_HEAD, next);
      next = writeDigits(buffer, next + ID_HEAD.length, id);
      if (eventBytes >= 0) {
        buffer.set(EVENT_KEY, next);
        next += EVENT_KEY.length;
        const event = events[part] as EncodedEvent;
        const kept = event.utf8In;
        if (kept !== undefined) {
          buffer.set(new Uint8Array(kept.buffer, kept.byteOffset + (event.utf8At as number), eventBytes), next);
        } else {
          const writer = event.parts;
          if (writer !== undefined) writer.writeInto(buffer, next);
          else buffer.write(event.json, next, eventBytes, 'utf8');
          // Its bytes stay here for its next frame; its text (or parts) go.
          event.utf8In = buffer;
          event.utf8At = next;
          event.json = '';
          event.parts = undefined;
        }
        next += eventBytes;
      }
      // The message's JSON whole; its `{` becomes the comma after the head (or the event).
      // A text the frame before had too (the same message, or one with the same JSON) is encoded once and copied.
      const text = parts[part] as string;
      if (text !== this.#repeated && part > 0 && text === parts[part - 1]) {
        this.#repeated = text;
        this.#repeatedBytes = Buffer.from(text, 'utf8');
      }
      if (text === this.#repeated) buffer.set(this.#repeatedBytes, next);
      else buffer.write(text, next, at + 4 + size - next, 'utf8');
      buffer[next] = 0x2c;
      at += 4 + size;
    }
    return buffer;
  }
}

/** How many decimal digits a request id (a non-negative integer) has. */
function digitsOf(id: number): number {
  let digits = 1;
  for (let rest = id; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** Writes a request id's decimal digits at `at` (no string made); returns where they end. */
function writeDigits(buffer: Buffer, at: number, id: number): number {
  const end = at + digitsOf(id);
  let rest = id;
  for (let place = end - 1; place >= at; place--) {
    buffer[place] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}

/** Splits a byte stream into messages; throws on a frame that is too large or not a JSON object with a `type`. */
export class FrameDecoder {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** The complete messages the stream holds once `chunk` is added. */
  push(chunk: Buffer): unknown[] {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < 4) return [];
    const buffer = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending, this.#pendingBytes);
    const messages: unknown[] = [];
    // Frames are read at an offset: one view of what is left at the end, not one per frame.
    let at = 0;
    while (buffer.length - at >= 4) {
      const size = buffer.readUInt32BE(at);
      if (size > MAX_FRAME_BYTES) throw new RangeError(`A protocol frame of ${size} bytes is over the limit of ${MAX_FRAME_BYTES}.`);
      if (buffer.length - at < 4 + size) break;
      // The usual answers (a text result, a text configuration) without a string of the frame or JSON.parse; any other frame is parsed.
      const message: unknown = decodeUsualAnswer(buffer, at + 4, at + 4 + size) ?? JSON.parse(buffer.toString('utf8', at + 4, at + 4 + size));
      if (message === null || typeof message !== 'object' || typeof (message as { type?: unknown }).type !== 'string') {
        throw new TypeError('A protocol message must be a JSON object with a "type" text.');
      }
      messages.push(message);
      at += 4 + size;
    }
    const left = buffer.length - at;
    this.#pending = left === 0 ? [] : [at === 0 ? buffer : buffer.subarray(at)];
    this.#pendingBytes = left;
    return messages;
  }
}

/** An Error carrying a runtime's exception: its class name, message and traceback as the stack. */
export function fromRemoteError(remote: RemoteError): Error {
  const error = new Error(remote.message);
  error.name = remote.type;
  error.stack = remote.traceback || `${remote.type}: ${remote.message}`;
  if (typeof remote.code === 'string') (error as Error & { code?: string }).code = remote.code;
  return error;
}
