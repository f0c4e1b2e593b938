// The webhook sender thread (see sender-thread.ts): signs and sends the
// requests the main thread posts, on keep-alive pools pinned to the
// addresses the main thread's SSRF guard checked, and answers in batches.

import { parentPort, workerData } from 'node:worker_threads';
import type { Dispatcher } from 'undici';
import { AbortedError } from '../errors.js';
import type { ClientPool } from './client-pool.js';
import { headersToText, startExchange, type Cancellable, type ExchangeResult } from './exchange.js';
import { HttpPools } from './pools.js';
import { RequestForm } from './transport.js';
import { CLOSED, OP, READY, type Packed, type SenderThreadOptions } from './sender-thread.js';
import type { CheckedTarget } from './ssrf-guard.js';

const port = parentPort;
if (port === null) throw new Error('sender-worker.ts runs as the worker thread of SenderThread.');

const options = workerData as SenderThreadOptions;
const pools = new HttpPools({
  ...(options.connections === undefined ? {} : { connections: options.connections }),
  ...(options.maxPools === undefined ? {} : { maxPools: options.maxPools }),
  ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs: options.keepAliveTimeoutMs }),
});

interface Lane {
  readonly origin: string;
  readonly target: CheckedTarget;
  /** Asked of `pools` again once closed (evicted). */
  pool: ClientPool;
}

/** The rendered headers of a request whose target templates none (most): one array for all of them. */
const NO_HEADERS: readonly string[] = Object.freeze([]);

const lanes = new Map<number, Lane>();
const forms = new Map<number, RequestForm>();
const inFlight = new Map<number, Cancellable>();
let answers: Packed[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  const out = answers;
  answers = [];
  port?.postMessage(out);
}

function answer(id: number, status: number, a: string | null, b: string, c: string | null, requestHeaders: string | null = null, responseHeaders: string | null = null): void {
  inFlight.delete(id);
  answers.push(id, status, a, b, c, requestHeaders, responseHeaders);
  if (scheduled) return;
  scheduled = true;
  // The answers of one turn of the loop (a poll phase's responses) go in one message.
  setImmediate(flush);
}

function failed(id: number, err: Error): void {
  const code = (err as { code?: unknown }).code;
  answer(id, 0, err.name, err.message, typeof code === 'string' ? code : null);
}

function send(id: number, lane: Lane | undefined, form: RequestForm | undefined, path: string, webhookId: string, timestamp: string, text: Packed, headers: readonly string[]): void {
  if (lane === undefined || form === undefined) {
    failed(id, new Error('The sender thread does not know the lane or form of this request.'));
    return;
  }
  if (lane.pool.closed || lane.pool.destroyed) lane.pool = pools.get(lane.origin, lane.target);
  // A Buffer arrives as a plain Uint8Array: viewed as a Buffer again, not copied.
  const body = typeof text === 'string' ? Buffer.from(text) : text === null ? null : Buffer.from((text as Uint8Array).buffer, (text as Uint8Array).byteOffset, (text as Uint8Array).byteLength);
  const request = startExchange(
    lane.pool,
    { path, method: form.method, headers: form.headerList({ headers, webhookId, timestamp }, body), body, timeoutMs: form.timeoutMs },
    (result: ExchangeResult) =>
      answer(id, result.status, result.retryAfter ?? null, result.head, null, headersToText(result.requestHeaders), headersToText(result.responseHeaders)),
    (err: Error) => failed(id, err),
  );
  // Answered already (refused as built): nothing left to cancel.
  if (!request.settled) inFlight.set(id, request);
}

function run(m: Packed[]): void {
  let i = 0;
  while (i < m.length) {
    switch (m[i++]) {
      case OP.reset:
        lanes.clear();
        forms.clear();
        break;
      case OP.lane: {
        const id = m[i] as number;
        const origin = m[i + 1] as string;
        const target: CheckedTarget = { hostname: m[i + 2] as string, address: m[i + 3] as string, family: m[i + 4] as 4 | 6 };
        lanes.set(id, { origin, target, pool: pools.get(origin, target) });
        i += 5;
        break;
      }
      case OP.form: {
        const id = m[i] as number;
        const method = m[i + 1] as Dispatcher.HttpMethod;
        const timeoutMs = m[i + 2] as number;
        const headerCount = m[i + 3] as number;
        const headers = m.slice(i + 4, i + 4 + headerCount) as string[];
        i += 4 + headerCount;
        const secretCount = m[i] as number;
        const secrets = m.slice(i + 1, i + 1 + secretCount) as string[];
        i += 1 + secretCount;
        forms.set(id, new RequestForm({ method, headers, timeoutMs, secrets }));
        break;
      }
      case OP.request: {
        const count = m[i + 7] as number;
        const headers = count === 0 ? NO_HEADERS : (m.slice(i + 8, i + 8 + count) as string[]);
        send(m[i] as number, lanes.get(m[i + 1] as number), forms.get(m[i + 2] as number), m[i + 3] as string, m[i + 4] as string, m[i + 5] as string, m[i + 6] as Packed, headers);
        i += 8 + count;
        break;
      }
      case OP.cancel:
        inFlight.get(m[i++] as number)?.cancel(new AbortedError());
        break;
      case OP.close:
        void pools.close().finally(() => {
          if (scheduled) flush();
          port?.postMessage(CLOSED);
        });
        return;
      default:
        throw new Error(`sender-worker.ts: unknown op ${String(m[i - 1])} at ${i - 1}`);
    }
  }
}

port.on('message', run);
port.postMessage(READY);
