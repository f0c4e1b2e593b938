// One child process that speaks the extension protocol: started without a
// shell, its stdout read as frames, its stderr sent to the log line by line
// (tagged), requests matched to their answers by id. Whatever starts it (a
// Python interpreter today, a locked-down Node next) is the caller's choice:
// this only knows the protocol.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from '../logger.js';
import { FrameDecoder, PROTOCOL_VERSION, RequestBatch, type EncodedEvent, type EventlessRequest, type HelloMessage, type ProcessRole, type Request, type Response } from './protocol.js';

/** How to start a runtime: no shell, the arguments as given. */
export interface ProcessCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** Added to the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface ProtocolProcessOptions {
  readonly role: ProcessRole;
  readonly logger: Logger;
  /** Names the process in log lines, e.g. the handler. */
  readonly tag: string;
  /** The error pending requests fail with when the process ends (exit code or signal, or why it could not start). */
  readonly exitError: (exit: ProcessExit) => Error;
  /** Called once when the process has ended, for whatever reason. */
  readonly onExit?: (exit: ProcessExit) => void;
  /** A stderr line that means it ran out of memory (a runtime that cannot exit with code 3 itself: V8 aborts). */
  readonly outOfMemoryLine?: RegExp;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why it could not start, or how it broke the protocol. */
  readonly problem?: string;
  /** The host ended it (kill, shutdown). */
  readonly byHost: boolean;
  /** Its stderr said it ran out of memory (`outOfMemoryLine`). */
  readonly outOfMemory?: boolean;
}

/**
 * A tick's frames are written as soon as they reach this many bytes (a
 * pipe's capacity), not all on the next tick: a burst of a thousand events
 * (~600 KB of getConfiguration frames) no longer waits whole in this
 * process's heap (every event's JSON text, alive through the garbage
 * collections of the burst) while the runtime sits idle; it starts on the
 * first frames while the rest are made. The pipe takes no more than this
 * in one write(2) anyway.
 */
const FLUSH_BYTES = 64 * 1024;

/** How long after a process's exit its stdout and stderr may take to reach their end (a grandchild holding them open). */
const OUTPUT_GRACE_MS = 1000;

/**
 * Who waits for a request's answer (ProtocolProcess.send): called once,
 * with the answer (an `error` answer included) as soon as it is read, or
 * with the error the process ended with.
 */
export interface AnswerReceiver {
  answered(response: Response): void;
  failed(error: Error): void;
}

export class ProtocolProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #options: ProtocolProcessOptions;
  readonly #decoder = new FrameDecoder();
  readonly #pending = new Map<number, AnswerReceiver>();
  #nextId = 1;
  #hello: ((hello: HelloMessage) => void) | undefined;
  #exit: ProcessExit | undefined;
  #byHost = false;
  #stderrTail = '';
  #tag: string;
  /** Resolves with the runtime's hello; rejects if it ends first or speaks another protocol version. */
  readonly ready: Promise<HelloMessage>;

  constructor(command: ProcessCommand, options: ProtocolProcessOptions) {
    this.#options = options;
    this.#tag = options.tag;
    let rejectReady!: (error: Error) => void;
    this.ready = new Promise<HelloMessage>((resolve, reject) => {
      this.#hello = resolve;
      rejectReady = reject;
    });
    // Handled by whoever awaits it; never an unhandled rejection on its own.
    this.ready.catch(() => undefined);
    this.#pending.set(0, { answered: () => undefined, failed: rejectReady });
    this.#child = spawn(command.file, [...command.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...command.env },
      ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
      windowsHide: true,
    });
    this.#child.stdout.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (text: string) => this.#onStderr(text));
    // Writes to a process that just died fail with EPIPE: its exit reports it.
    this.#child.stdin.on('error', () => undefined);
    this.#child.on('error', (err) => this.#ended(null, null, `it could not be started (${err.message})`));
    this.#child.on('exit', (code, signal) => this.#afterOutput(() => this.#ended(code, signal)));
  }

  /** Renames the process in its log lines (a pool worker takes the name of the handler it runs). */
  setTag(tag: string): void {
    this.#tag = tag;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exited(): ProcessExit | undefined {
    return this.#exit;
  }

  /**
   * Sends a request; resolves with its answer (an `error` answer included),
   * rejects if the process ends first. `event`: the request's `event`,
   * already encoded (then left out of `message`).
   */
  request(message: Request | EventlessRequest, event?: EncodedEvent): Promise<Response> {
    return new Promise<Response>((resolve, reject) => this.send(message, { answered: resolve, failed: reject }, event));
  }

  /**
   * Sends a request; `receiver` gets its answer as soon as it is read (no
   * promise, no turn of the microtask queue per answer: the hot path's
   * form), or the error the process ended with (then on a later turn, as a
   * promise would). Throws a RangeError, sending nothing, when the frame
   * would be over MAX_FRAME_BYTES.
   */
  send(message: Request | EventlessRequest, receiver: AnswerReceiver, event?: EncodedEvent): void {
    const exit = this.#exit;
    if (exit !== undefined) {
      queueMicrotask(() => receiver.failed(this.#options.exitError(exit)));
      return;
    }
    const id = this.#nextId++;
    if (this.#outbox.size === 0) process.nextTick(this.#flush);
    this.#outbox.add(message, id, event);
    this.#pending.set(id, receiver);
    if (this.#outbox.bytes >= FLUSH_BYTES) this.#flush();
  }

  /**
   * Frames written in one tick leave as one buffer on the next: one write
   * for a burst instead of one per frame (corking would hand libuv one iovec
   * per frame, which it walks again on every partial write to a full pipe).
   * They wait as the parts of their JSON text and are encoded straight into
   * that one buffer (RequestBatch). A burst that reaches FLUSH_BYTES leaves
   * at once, in order, the rest of it on the next tick as before.
   */
  #outbox = new RequestBatch();
  readonly #flush = (): void => {
    if (this.#outbox.size === 0) return;
    const frames = this.#outbox.take();
    if (this.#exit !== undefined || this.#child.stdin.writableEnded) return;
    this.#child.stdin.write(frames);
  };

  /** Ends it now (SIGKILL): a stuck handler does not get to clean up. */
  kill(): void {
    if (this.#exit !== undefined) return;
    this.#byHost = true;
    this.#child.kill('SIGKILL');
  }

  /** Asks it to end (`shutdown`), and kills it if it has not within `graceMs`. */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#byHost = true;
    const ended = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.kill(), graceMs);
    this.request({ type: 'shutdown' }).catch(() => undefined);
    // The frames of this tick (the shutdown last) go before the end of stdin.
    this.#flush();
    this.#child.stdin.end();
    await ended;
    clearTimeout(timer);
  }

  #onData(chunk: Buffer): void {
    let messages: unknown[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      this.#broken(`it wrote a bad frame (${(err as Error).message})`);
      return;
    }
    for (const message of messages) this.#onMessage(message as { type: string; id?: unknown });
  }

  #onMessage(message: { type: string; id?: unknown }): void {
    if (message.type === 'hello') {
      const hello = message as unknown as HelloMessage;
      if (hello.protocol !== PROTOCOL_VERSION) {
        this.#broken(`it speaks protocol version ${String(hello.protocol)}, Hookwork speaks ${PROTOCOL_VERSION}`);
        return;
      }
      this.#pending.delete(0);
      this.#hello?.(hello);
      this.#hello = undefined;
      return;
    }
    const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined;
    if (pending === undefined) {
      this.#broken(`it answered a request never sent (${JSON.stringify(message).slice(0, 200)})`);
      return;
    }
    this.#pending.delete(message.id as number);
    pending.answered(message as unknown as Response);
  }

  #broken(problem: string): void {
    this.#options.logger.error({ extension: this.#tag, pid: this.pid }, `Extension process ${this.#tag}: ${problem}; it is ended`);
    this.#problem ??= problem;
    this.kill();
    this.#byHost = false;
  }

  #problem: string | undefined;
  #outOfMemory = false;

  /**
   * Runs `then` once stdout and stderr have been read to their end, or at
   * most OUTPUT_GRACE_MS after the exit (a grandchild may hold a pipe open),
   * and after the callbacks of the last answers have run. Answers the process
   * wrote before it ended are still in the pipe when its exit is seen: read
   * and matched to their requests first, they are never failed (nor re-run
   * by a pool) for want of being read. Its last stderr lines may say why it died.
   */
  #afterOutput(then: () => void): void {
    const streams = [this.#child.stdout, this.#child.stderr].filter((stream) => !stream.readableEnded && !stream.destroyed);
    let open = streams.length;
    // setImmediate: the promise callbacks of answers read with the end run first.
    const finish = (): void => {
      clearTimeout(timer);
      for (const stream of streams) {
        stream.off('end', one);
        stream.off('close', one);
      }
      setImmediate(then);
    };
    const timer = open === 0 ? undefined : setTimeout(finish, OUTPUT_GRACE_MS);
    function one(this: NodeJS.ReadableStream): void {
      this.off('end', one);
      this.off('close', one);
      if (--open === 0) finish();
    }
    if (open === 0) {
      finish();
      return;
    }
    for (const stream of streams) {
      stream.once('end', one);
      stream.once('close', one);
    }
  }

  #onStderr(text: string): void {
    const lines = (this.#stderrTail + text).split('\n');
    this.#stderrTail = lines.pop() ?? '';
    for (const line of lines) this.#logLine(line);
  }

  #logLine(line: string): void {
    if (line.length === 0) return;
    if (this.#options.outOfMemoryLine?.test(line) === true) this.#outOfMemory = true;
    this.#options.logger.info({ extension: this.#tag, pid: this.pid, stream: 'stderr' }, line);
  }

  #ended(code: number | null, signal: NodeJS.Signals | null, problem?: string): void {
    if (this.#exit !== undefined) return;
    if (this.#stderrTail !== '') this.#logLine(this.#stderrTail);
    this.#stderrTail = '';
    const why = problem ?? this.#problem;
    this.#exit = { code, signal, byHost: this.#byHost, ...(why === undefined ? {} : { problem: why }), ...(this.#outOfMemory ? { outOfMemory: true } : {}) };
    const error = this.#options.exitError(this.#exit);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    // onExit first (a pool takes back the requests it will send again), then the receivers: a receiver is told after the process's owner knows.
    this.#options.onExit?.(this.#exit);
    for (const receiver of pending) receiver.failed(error);
  }
}

/** "exited with code: 7", "killed by SIGKILL", or why it could not start. */
export function describeExit(exit: ProcessExit): string {
  if (exit.problem !== undefined) return exit.problem;
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  return `exited with code: ${String(exit.code)}`;
}
