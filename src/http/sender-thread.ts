// Webhook requests sent from a thread of their own (sender-worker.ts): the
// HTTP client's work (signing, undici, the sockets' system calls) leaves the
// thread that emits events and runs the host, so a busy host loses little to
// its webhooks and the two use two cores. Targets render and SSRF-check each
// request here as before; the rest crosses. What a target's requests share
// (its RequestForm) and each lane cross once; a request carries only what
// differs. Everything sent in one turn of the loop goes in one message, a
// flat array (a structured clone of many small objects costs more than the
// data), and answers come back the same way.

import { Worker } from 'node:worker_threads';
import { ClosedError, SenderThreadError } from '../errors.js';
import { workerEntry, workerExecArgv, workerModule } from '../worker-threads.js';
import { abortReason, headersFromText, trackAbort, untrackAbort, type Cancellable, type ExchangeResult } from './exchange.js';
import type { FormRequest, HttpLane, HttpTransport, RequestForm } from './transport.js';
import type { CheckedTarget } from './ssrf-guard.js';
import type { TransportProfile } from './transport-profile.js';

/** One value of a message. */
export type Packed = string | number | null | Buffer;

export interface SenderThreadOptions {
  /** Sockets per origin (default 16). */
  readonly connections?: number;
  /** Pools kept open at most (default 256). */
  readonly maxPools?: number;
  /** Idle keep-alive in ms (default 30 s). */
  readonly keepAliveTimeoutMs?: number;
}

/**
 * What a message to the thread holds, one record after another, each opened
 * by its op:
 * - RESET: forget every lane and form;
 * - LANE id origin hostname address family profileId cert key ca proxy (null: no profile, or not set);
 * - FORM id method timeoutMs headerCount header… secretCount secret…;
 * - REQUEST id lane form path webhookId timestamp body headerCount header…;
 * - CANCEL id (aborted here; already rejected);
 * - CLOSE: let what is in flight end, close the sockets, answer CLOSED.
 */
export const OP = { reset: 0, lane: 1, form: 2, request: 3, cancel: 4, close: 5 } as const;

/**
 * The thread's answers, ANSWER_FIELDS each: id, status (0: failed), then
 * retry-after, head, null, the request's and the response's headers (as
 * headersToText), or the error's name, message and code and two nulls.
 */
export const ANSWER_FIELDS = 7;
/** The thread's last message after CLOSE. */
export const CLOSED = 'closed';
/** The thread's first message, once it can send. */
export const READY = 'ready';

/** The running thread's Worker, for tests that stop it the hard way. */
export const kWorker = Symbol('hookwork.senderThread.worker');

/** Lanes and forms remembered at most; past it all are forgotten, here and on the thread, and registered again as used. */
const MAX_REGISTERED = 1024;

class ThreadLane implements HttpLane {
  readonly id: number;
  readonly origin: string;
  readonly target: CheckedTarget;
  readonly profile: TransportProfile | undefined;
  /** The registration this lane belongs to: older ones are stale. */
  readonly epoch: number;
  readonly #thread: SenderThread;

  constructor(thread: SenderThread, id: number, origin: string, target: CheckedTarget, profile: TransportProfile | undefined, epoch: number) {
    this.#thread = thread;
    this.id = id;
    this.origin = origin;
    this.target = target;
    this.profile = profile;
    this.epoch = epoch;
  }

  get stale(): boolean {
    return this.#thread.isStale(this);
  }

  send(form: RequestForm, request: FormRequest): Promise<ExchangeResult> {
    return this.#thread.send(this, form, request);
  }
}

class PendingRequest implements Cancellable {
  readonly id: number;
  readonly signal: AbortSignal;
  readonly resolve: (result: ExchangeResult) => void;
  readonly reject: (error: Error) => void;
  readonly #onCancel: (request: PendingRequest, error: Error) => void;

  constructor(
    id: number,
    signal: AbortSignal,
    resolve: (result: ExchangeResult) => void,
    reject: (error: Error) => void,
    onCancel: (request: PendingRequest, error: Error) => void,
  ) {
    this.id = id;
    this.signal = signal;
    this.resolve = resolve;
    this.reject = reject;
    this.#onCancel = onCancel;
  }

  cancel(error: Error): void {
    this.#onCancel(this, error);
  }
}

/** An error of the thread's, as it crossed: the target reads its name and code (timeouts, requests undici refused). */
function errorFrom(name: string, message: string, code: string | null): Error {
  const error = new Error(message) as Error & { code?: string };
  error.name = name;
  if (code !== null) error.code = code;
  return error;
}

export class SenderThread implements HttpTransport {
  readonly #options: SenderThreadOptions;
  #worker: Worker | undefined;
  /** Bumped when the registrations start again (a new thread, or past MAX_REGISTERED). */
  #epoch = 0;
  #registered = 0;
  readonly #lanes = new Map<string, ThreadLane>();
  #forms = new WeakMap<RequestForm, number>();
  #nextId = 1;
  readonly #pending = new Map<number, PendingRequest>();
  /** The message being gathered. */
  #out: Packed[] = [];
  #scheduled = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #onClosed: (() => void) | undefined;
  #ready: Promise<void> | undefined;
  #onReady: (() => void) | undefined;
  #lastResponseText: string | null = null;
  #lastResponseHeaders: readonly string[] = [];
  readonly #flush = (): void => this.#post();
  readonly #cancelOne = (request: PendingRequest, error: Error): void => {
    if (this.#pending.get(request.id) !== request) return;
    this.#pending.delete(request.id);
    this.#out.push(OP.cancel, request.id);
    this.#schedule();
    request.reject(error);
    this.#idleCheck();
  };

  constructor(options: SenderThreadOptions = {}) {
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  get [kWorker](): Worker | undefined {
    return this.#worker;
  }

  /**
   * Starts the thread now rather than at the first request, and resolves once
   * it can send: a thread that loads while the first attempts wait would eat
   * into their leases.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('The webhook sender thread'));
    if (this.#worker === undefined) this.#start();
    return this.#ready as Promise<void>;
  }

  lane(origin: string, target: CheckedTarget, profile?: TransportProfile): HttpLane {
    return this.#lane(origin, target, profile);
  }

  /** Whether a lane of this thread must be asked for again (what ThreadLane.stale reads). */
  isStale(lane: ThreadLane): boolean {
    return lane.epoch !== this.#epoch || this.#closed;
  }

  #lane(origin: string, target: CheckedTarget, profile: TransportProfile | undefined): ThreadLane {
    const key = profile === undefined ? `${origin}|${target.address}` : `${origin}|${target.address}|${profile.id}`;
    const known = this.#lanes.get(key);
    if (known !== undefined && known.epoch === this.#epoch) return known;
    this.#countRegistration();
    const lane = new ThreadLane(this, this.#nextId++, origin, target, profile, this.#epoch);
    this.#lanes.set(key, lane);
    this.#out.push(OP.lane, lane.id, origin, target.hostname, target.address, target.family);
    if (profile === undefined) this.#out.push(null, null, null, null, null);
    else this.#out.push(profile.id, profile.cert ?? null, profile.key ?? null, profile.ca ?? null, profile.proxy ?? null);
    return lane;
  }

  #form(form: RequestForm): number {
    const known = this.#forms.get(form);
    if (known !== undefined) return known;
    this.#countRegistration();
    const id = this.#nextId++;
    this.#forms.set(form, id);
    const out = this.#out;
    out.push(OP.form, id, form.method, form.timeoutMs, form.headers.length);
    for (const header of form.headers) out.push(header);
    out.push(form.secrets.length);
    for (const secret of form.secrets) out.push(secret);
    return id;
  }

  #countRegistration(): void {
    if (++this.#registered <= MAX_REGISTERED) return;
    this.#forgetRegistrations(true);
    this.#registered = 1;
  }

  /** Lanes and forms are registered again as they are next used. */
  #forgetRegistrations(tellThread: boolean): void {
    this.#lanes.clear();
    this.#forms = new WeakMap();
    this.#epoch += 1;
    this.#registered = 0;
    if (tellThread) this.#out.push(OP.reset);
  }

  send(lane: ThreadLane, form: RequestForm, request: FormRequest): Promise<ExchangeResult> {
    if (this.#closed) return Promise.reject(new ClosedError('The webhook sender thread'));
    const { signal } = request;
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const worker = this.#worker ?? this.#start();
    // Asked for before the thread or the registrations started again.
    let current = lane.epoch === this.#epoch ? lane : this.#lane(lane.origin, lane.target, lane.profile);
    const formId = this.#form(form);
    // Registering the form started the registrations again (past MAX_REGISTERED): the lane is registered again too.
    if (current.epoch !== this.#epoch) current = this.#lane(lane.origin, lane.target, lane.profile);
    return new Promise<ExchangeResult>((resolve, reject) => {
      const id = this.#nextId++;
      const pending = new PendingRequest(id, signal, resolve, reject, this.#cancelOne);
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, pending);
      trackAbort(signal, pending);
      const out = this.#out;
      const headers = request.headers;
      out.push(OP.request, id, current.id, formId, request.path, request.webhookId, request.timestamp, request.body, headers.length);
      for (let i = 0; i < headers.length; i++) out.push(headers[i] as string);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }

  #post(): void {
    this.#scheduled = false;
    const worker = this.#worker;
    if (worker === undefined || this.#out.length === 0) return;
    const out = this.#out;
    this.#out = [];
    worker.postMessage(out);
  }

  #start(): Worker {
    const { entry, eval: isEval } = workerEntry(workerModule(import.meta.url, 'sender-worker'));
    const execArgv = workerExecArgv();
    const worker = new Worker(entry, {
      eval: isEval,
      workerData: this.#options,
      ...(execArgv === undefined ? {} : { execArgv }),
    });
    // With nothing in flight the thread does not keep the process alive.
    worker.unref();
    this.#ready = new Promise<void>((resolve) => {
      this.#onReady = resolve;
    });
    worker.on('message', (message: Packed[] | typeof CLOSED | typeof READY) => this.#answered(message));
    worker.on('error', (err: Error) => this.#lost(worker, err.message, err));
    worker.on('exit', (code: number) => this.#lost(worker, `exit code ${code}`));
    this.#worker = worker;
    // A new thread knows no lanes or forms.
    this.#out = [];
    this.#forgetRegistrations(false);
    return worker;
  }

  #answered(message: Packed[] | typeof CLOSED | typeof READY): void {
    if (message === READY) {
      this.#onReady?.();
      return;
    }
    if (message === CLOSED) {
      this.#onClosed?.();
      return;
    }
    for (let i = 0; i < message.length; i += ANSWER_FIELDS) {
      const id = message[i] as number;
      const pending = this.#pending.get(id);
      // Cancelled here since: already rejected.
      if (pending === undefined) continue;
      this.#pending.delete(id);
      untrackAbort(pending.signal, pending);
      const status = message[i + 1] as number;
      if (status > 0) {
        pending.resolve({
          status,
          retryAfter: (message[i + 2] as string | null) ?? undefined,
          head: message[i + 3] as string,
          requestHeaders: headersFromText(message[i + 5] as string | null),
          responseHeaders: this.#responseHeaders(message[i + 6] as string | null),
        });
      }
      else pending.reject(errorFrom(message[i + 2] as string, message[i + 3] as string, message[i + 4] as string | null));
    }
    this.#idleCheck();
  }

  /**
   * A receiver answers with the same headers again and again (a date that
   * changes once a second aside): the same text gives the last list again,
   * not a new split, and the sender's record of it is reused as it is.
   */
  #responseHeaders(text: string | null): readonly string[] {
    if (text === this.#lastResponseText) return this.#lastResponseHeaders;
    const headers = headersFromText(text);
    this.#lastResponseText = text;
    this.#lastResponseHeaders = headers;
    return headers;
  }

  #idleCheck(): void {
    if (this.#pending.size === 0) this.#worker?.unref();
  }

  /** The thread died: what was in flight there fails (retryably), and the next request starts a new thread. */
  #lost(worker: Worker, detail: string, cause?: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#out = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) {
      untrackAbort(request.signal, request);
      request.reject(new SenderThreadError(detail, cause === undefined ? undefined : { cause }));
    }
    // start() does not wait for a thread that is gone; the next request starts another.
    this.#onReady?.();
    this.#onClosed?.();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker === undefined) return;
    worker.ref();
    const closed = new Promise<void>((resolve) => {
      this.#onClosed = resolve;
    });
    this.#out.push(OP.close);
    this.#post();
    await closed;
    this.#worker = undefined;
    await worker.terminate();
  }
}
