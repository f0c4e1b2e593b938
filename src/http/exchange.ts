// One HTTP request on a client pool (or any undici dispatcher), keeping only what a webhook outcome
// needs: the status, Retry-After and the first 4 KiB of the body. It is an
// undici dispatch handler rather than Pool.request: no body stream, no async
// iteration and no abort listener per response, and the rest of the body is drained (up to a
// limit, then the socket is dropped) so the keep-alive socket is reused.

import type { Dispatcher } from 'undici';
import { AbortedError } from '../errors.js';
import { ALWAYS_REDACTED_HEADERS } from './redact-headers.js';

export const RESPONSE_HEAD = 4096;
/** Past this much of a response we stop reading and drop the socket. */
export const RESPONSE_DRAIN_LIMIT = 1 << 20;

export interface ExchangeResult {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** The first RESPONSE_HEAD bytes of the body, as UTF-8. */
  readonly head: string;
  /** The request's headers as sent (what the caller gave undici), flat name/value pairs. */
  readonly requestHeaders: readonly string[];
  /** The response's headers, flat name/value pairs, as received (latin1). */
  readonly responseHeaders: readonly string[];
}

/**
 * Flat header pairs as one text (`name\nvalue\n…`), to cross to another
 * thread as one string: header names and values hold no line break (HTTP
 * forbids them; undici refuses them in a request).
 */
export function headersToText(flat: readonly string[]): string {
  return flat.join('\n');
}

export function headersFromText(text: string | null | undefined): readonly string[] {
  return text === null || text === undefined || text === '' ? [] : text.split('\n');
}

export interface RequestOptions {
  readonly path: string;
  readonly method: Dispatcher.HttpMethod;
  /** Flat `[name, value, name, value…]`, as undici takes them without copying. */
  readonly headers: string[];
  readonly body: string | Buffer | null;
  readonly timeoutMs: number;
}

export interface ExchangeOptions extends RequestOptions {
  readonly signal: AbortSignal;
}

export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortedError();
}

/** A request in flight that an abort ends. */
export interface Cancellable {
  cancel(error: Error): void;
}

// One abort listener per signal, however many requests share it (the router's
// never-aborted signal, fallback URLs of one attempt): a Set beats adding and
// removing an EventTarget listener per request.
const inFlight = new WeakMap<AbortSignal, Set<Cancellable>>();

/** Cancels `request` when `signal` aborts, until untrackAbort(). */
export function trackAbort(signal: AbortSignal, request: Cancellable): void {
  let set = inFlight.get(signal);
  if (set === undefined) {
    const fresh = new Set<Cancellable>();
    inFlight.set(signal, (set = fresh));
    signal.addEventListener(
      'abort',
      () => {
        for (const pending of fresh) pending.cancel(abortReason(signal));
        fresh.clear();
      },
      { once: true },
    );
  }
  set.add(request);
}

export function untrackAbort(signal: AbortSignal, request: Cancellable): void {
  inFlight.get(signal)?.delete(request);
}

type Abort = (reason?: Error) => void;

const RETRY_AFTER = 'retry-after';

/**
 * The text of each response header, by its place in the response, as last
 * decoded: a receiver answers with the same names and mostly the same values
 * every time, and each attempt's record keeps them (a done delivery is kept
 * for the console). A header whose bytes match the last ones at its place
 * reuses that text: no new string per header per response to allocate, copy
 * from young generation to old and keep. Only short ones are remembered.
 */
const REMEMBERED_HEADERS = 32;
const REMEMBERED_LENGTH = 128;
const NOT_SEEN = new Uint8Array(0);
const seenBytes: Uint8Array[] = Array.from({ length: REMEMBERED_HEADERS }, () => NOT_SEEN);
const seenText: string[] = Array.from({ length: REMEMBERED_HEADERS }, () => '');
/** Whether the name remembered at a place is one whose value carries a credential (set-cookie…): its value is not remembered. */
const seenSecretName: boolean[] = Array.from({ length: REMEMBERED_HEADERS }, () => false);

/** Whether `raw` holds the bytes remembered in `seen`. */
function sameBytes(seen: Uint8Array, raw: Buffer): boolean {
  if (seen.length !== raw.length) return false;
  for (let i = 0; i < raw.length; i++) if (seen[i] !== raw[i]) return false;
  return true;
}

function headerText(raw: Buffer, at: number): string {
  if (at >= REMEMBERED_HEADERS || raw.length > REMEMBERED_LENGTH) return raw.toString('latin1');
  if (raw.length > 0 && sameBytes(seenBytes[at] as Uint8Array, raw)) return seenText[at] as string;
  const text = raw.toString('latin1');
  // Names at even places, values at odd ones: a credential's value is decoded every time, never kept here.
  if (at % 2 === 0) seenSecretName[at] = ALWAYS_REDACTED_HEADERS.has(text.toLowerCase());
  else if (seenSecretName[at - 1] === true) return text;
  // A copy: undici's header buffers are views of the socket's read chunk.
  seenBytes[at] = new Uint8Array(raw);
  seenText[at] = text;
  return text;
}

/**
 * The body's text, as the last short body's when its bytes are the same:
 * a receiver answers `ok` (or `{"received":true}`) every time, and each
 * attempt's record keeps that text with its done delivery, as it keeps the
 * header texts (above). Only short bodies are remembered; exchanges carry
 * webhook requests only (an OAuth2 token endpoint's answer does not come
 * through here), and the record keeps the same text anyway.
 */
let seenBody: Uint8Array = NOT_SEEN;
let seenBodyText = '';

function bodyText(raw: Buffer): string {
  if (raw.length > REMEMBERED_LENGTH || raw.length === 0) return raw.toString('utf8');
  if (sameBytes(seenBody, raw)) return seenBodyText;
  const text = raw.toString('utf8');
  // A copy: undici's chunks are views of the socket's read buffer.
  seenBody = new Uint8Array(raw);
  seenBodyText = text;
  return text;
}

// The handler methods undici's own Pool.request handler implements (onConnect,
// onHeaders, onData, onComplete, onError): raw header buffers, scanned only
// when Retry-After matters, instead of a parsed header object per response.
class Exchange implements Cancellable {
  readonly #resolve: (result: ExchangeResult) => void;
  readonly #reject: (error: Error) => void;
  /** Undefined when the caller cancels it itself (startExchange). */
  readonly #signal: AbortSignal | undefined;
  #abort: Abort | undefined;
  #status = 0;
  #retryAfter: string | undefined;
  readonly #requestHeaders: readonly string[];
  #responseHeaders: readonly string[] = [];
  /** The body's first chunk (most bodies are one), then the list of them from the second: no array per response. */
  #first: Buffer | undefined;
  #chunks: Buffer[] | undefined;
  #kept = 0;
  #seen = 0;
  #done = false;

  constructor(signal: AbortSignal | undefined, requestHeaders: readonly string[], resolve: (result: ExchangeResult) => void, reject: (error: Error) => void) {
    this.#signal = signal;
    this.#requestHeaders = requestHeaders;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** The request is over (answered, failed or aborted): client-pool.ts asks, after each dispatch. */
  get settled(): boolean {
    return this.#done;
  }

  cancel(error: Error): void {
    if (this.#abort !== undefined) this.#abort(error);
    else this.#finish(error); // still queued: onConnect aborts it
  }

  onConnect(abort: Abort): void {
    if (this.#done) abort(new AbortedError());
    else if (this.#signal?.aborted === true) abort(abortReason(this.#signal));
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the final response follows
    this.#status = statusCode;
    // Kept for the attempt's record (the console shows them): a few short strings per response.
    const names = new Array<string>(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++) names[i] = headerText(rawHeaders[i] as Buffer, i);
    this.#responseHeaders = names;
    // Retry-After only matters when the receiver refuses for now.
    if (statusCode === 429 || statusCode === 408 || statusCode >= 500) {
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = rawHeaders[i] as Buffer;
        if (name.length === RETRY_AFTER.length && name.toString('latin1').toLowerCase() === RETRY_AFTER) {
          this.#retryAfter = String(rawHeaders[i + 1]);
          break;
        }
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#seen += chunk.length;
    if (this.#kept < RESPONSE_HEAD) {
      const part = chunk.length <= RESPONSE_HEAD - this.#kept ? chunk : chunk.subarray(0, RESPONSE_HEAD - this.#kept);
      if (this.#first === undefined) this.#first = part;
      else if (this.#chunks === undefined) this.#chunks = [this.#first, part];
      else this.#chunks.push(part);
      this.#kept += part.length;
    }
    if (this.#seen > RESPONSE_DRAIN_LIMIT && this.#abort !== undefined) {
      // Enough: answer with what we have and drop the socket.
      this.#finish(undefined);
      this.#abort(new AbortedError('The response body is over the drain limit; the rest was dropped.'));
    }
    return true;
  }

  onComplete(): void {
    this.#finish(undefined);
  }

  onError(error: Error): void {
    this.#finish(error);
  }

  #finish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#signal !== undefined) untrackAbort(this.#signal, this);
    if (error !== undefined) {
      this.#reject(error);
      return;
    }
    const first = this.#first;
    const head = first === undefined ? '' : bodyText(this.#chunks === undefined ? first : Buffer.concat(this.#chunks));
    this.#resolve({ status: this.#status, retryAfter: this.#retryAfter, head, requestHeaders: this.#requestHeaders, responseHeaders: this.#responseHeaders });
  }
}

function dispatchRequest(dispatcher: Pick<Dispatcher, 'dispatch'>, options: RequestOptions, handler: Exchange): void {
  dispatcher.dispatch(
    {
      path: options.path,
      method: options.method,
      headers: options.headers,
      body: options.body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    },
    handler as unknown as Dispatcher.DispatchHandler,
  );
}

/** Sends one request through `dispatcher`; rejects on connection errors, timeouts and aborts. */
export function exchange(dispatcher: Pick<Dispatcher, 'dispatch'>, options: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve, reject) => {
    const { signal } = options;
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const handler = new Exchange(signal, options.headers, resolve, reject);
    trackAbort(signal, handler);
    dispatchRequest(dispatcher, options, handler);
  });
}

/** exchange() for a caller that tracks its requests itself (the sender thread): the handle cancels the request. */
export function startExchange(
  dispatcher: Pick<Dispatcher, 'dispatch'>,
  options: RequestOptions,
  resolve: (result: ExchangeResult) => void,
  reject: (error: Error) => void,
): Cancellable & { readonly settled: boolean } {
  const handler = new Exchange(undefined, options.headers, resolve, reject);
  dispatchRequest(dispatcher, options, handler);
  return handler;
}
