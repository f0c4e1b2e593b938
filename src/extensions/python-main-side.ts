// The main side of a Python handler: one Python process per handler (the
// runtime in `main` role) holds the handler's one instance and runs its
// onStart, onStop and getConfiguration; this side turns their answers into
// the decisions ExtensionHandler knows. A `delay` answer is kept as a timer
// here (parent.delay): the Python process is free meanwhile, and when the
// timer fires it is asked to run the delayed function (`call`).

import { ExtensionLoadError, ExtensionProcessError, ExtensionResultError, HookTimeoutError } from '../errors.js';
import type { HookworkEvent } from '../events/envelope.js';
import { eventCopyJsonParts } from '../events/event-json.js';
import type { Logger } from '../logger.js';
import type { ExtensionParent, ExtensionTask } from './contract.js';
import { AnswerToCome, PendingDecision, type MainSide, type TaskRunner } from './main-side.js';
import { describeExit, ProtocolProcess, type AnswerReceiver, type ProcessCommand } from './protocol-process.js';
import { fromRemoteError, type EncodedEvent, type Request, type Response } from './protocol.js';

export interface PythonMainSideOptions {
  readonly handler: string;
  readonly entryPoint: string;
  /** The module's dotted name and the class. */
  readonly module: string;
  readonly exportName: string;
  readonly command: ProcessCommand;
  readonly runner: TaskRunner;
  readonly logger: Logger;
  /** Limit for init, onStart and onStop, ms: past it the process is killed. */
  readonly lifecycleLimitMs: number;
  /** The event as the process receives it (the token only when granted). */
  readonly toEvent: (event: HookworkEvent) => ExtensionTask['event'];
  /**
   * Whether toEvent(event) gives the event's own members (its token not
   * shown): then its getConfiguration frame is written from the event
   * itself and no copy is made. Without it, the copy is made to tell.
   */
  readonly ownCopy?: (event: HookworkEvent) => boolean;
  /** The process ended on its own (not closed): the handler stops. */
  readonly onCrash: (error: Error) => void;
}

/** Every getConfiguration request but its event: one frozen object, whose JSON a batch of frames encodes once (RequestBatch). */
const GET_CONFIGURATION = Object.freeze({ type: 'getConfiguration' as const });

/** Events encoded for getConfiguration and waiting for their handle frame: at most this many are kept. */
const ENCODED_KEPT = 1024;
/** A larger event's JSON (UTF-8 bytes) is not kept (1024 of them would hold too much memory): its handle frame encodes it again. */
const ENCODED_MAX_BYTES = 64 * 1024;

interface Encoded extends EncodedEvent {
  /** What tells it is the same event copy: its own frozen parts, and whether the token was in it. */
  readonly data: unknown;
  readonly timestamp: unknown;
  readonly token: string | undefined;
}

/** The token as the copy's JSON carries it: the event's own account keeps it non-enumerable (left out), a granted copy shows it. */
function shownToken(copy: Pick<ExtensionTask['event'], 'account'>): string | undefined {
  return Object.prototype.propertyIsEnumerable.call(copy.account, 'token') ? copy.account.token : undefined;
}

export class PythonMainSide implements MainSide {
  readonly module: string;
  readonly exportName: string;
  readonly runner: TaskRunner;
  /**
   * Each event's JSON as its getConfiguration frame carried it, by event
   * uuid, until its handle frame takes it: the event is encoded once, not
   * twice. An event skipped, rejected or delayed lets its own go at once;
   * bounded besides (the oldest go first, large events are never kept),
   * and one missing is just encoded again.
   */
  readonly #encoded = new Map<string, Encoded>();
  readonly #options: PythonMainSideOptions;
  #process: ProtocolProcess | undefined;
  #loaded: Promise<readonly string[] | undefined> | undefined;
  #closed = false;
  /** The class has getConfiguration (the main process is asked per event); without it, the configured text. */
  #asks = true;

  constructor(options: PythonMainSideOptions) {
    this.#options = options;
    this.module = options.module;
    this.exportName = options.exportName;
    const runner = options.runner;
    const runTo = runner.runTo?.bind(runner);
    this.runner = {
      run: (task, signal) => runner.run(task, signal, this.#takeEncoded(task.event)),
      describeFailure: (err) => runner.describeFailure(err),
      ...(runTo === undefined ? {} : { runTo: (task, signal, _event, listener, token) => runTo(task, signal, this.#takeEncoded(task.event), listener, token) }),
    };
  }

  load(): Promise<readonly string[] | undefined> {
    if (this.#loaded !== undefined && this.#process?.exited === undefined) return this.#loaded;
    const loading = this.#spawnAndInit();
    // A failed load is tried again on the next start (the file may be fixed).
    loading.catch(() => {
      if (this.#loaded === loading) this.#loaded = undefined;
    });
    this.#loaded = loading;
    return loading;
  }

  async #spawnAndInit(): Promise<readonly string[] | undefined> {
    const { handler, entryPoint } = this.#options;
    this.#process?.kill();
    const process: ProtocolProcess = new ProtocolProcess(this.#options.command, {
      role: 'main',
      logger: this.#options.logger,
      tag: `python main ${handler}`,
      exitError: (exit) => new ExtensionProcessError(`The Python main process of extension handler "${handler}"`, describeExit(exit)),
      onExit: (exit) => {
        if (exit.byHost || this.#closed || this.#process !== process) return;
        this.#options.onCrash(new ExtensionProcessError(`The Python main process of extension handler "${handler}"`, describeExit(exit)));
      },
    });
    this.#process = process;
    try {
      await process.ready;
    } catch (err) {
      throw new ExtensionLoadError(handler, entryPoint, `the Python runtime did not start (${(err as Error).message})`, { cause: err });
    }
    const answer = await this.#lifecycle({ type: 'init', module: this.module, class: this.exportName }, 'init');
    if (answer.type === 'error') {
      const error = fromRemoteError(answer.error);
      throw new ExtensionLoadError(handler, entryPoint, `importing ${this.module}.${this.exportName} failed: ${answer.error.type}: ${answer.error.message}`, { cause: error });
    }
    if (answer.type !== 'ready') throw this.#unexpected('init', answer);
    this.#asks = answer.get_configuration !== false;
    return answer.target_events ?? undefined;
  }

  async start(parent: ExtensionParent): Promise<void> {
    const answer = await this.#lifecycle({ type: 'start', configuration: parent.configuration, name: parent.name, uuid: parent.uuid }, 'onStart');
    if (answer.type === 'error') throw fromRemoteError(answer.error);
    if (answer.type !== 'ok') throw this.#unexpected('start', answer);
  }

  async stop(): Promise<void> {
    if (this.#process === undefined || this.#process.exited !== undefined) return;
    const answer = await this.#lifecycle({ type: 'stop' }, 'onStop');
    if (answer.type === 'error') throw fromRemoteError(answer.error);
  }

  getConfiguration(event: HookworkEvent, parent: ExtensionParent, configuration: string): unknown {
    // No getConfiguration: what its answer would be (the default), without a round trip per event.
    if (!this.#asks) return configuration;
    const process = this.#process;
    if (process === undefined) throw this.#notRunning();
    // An own copy of an event built here: its bytes from the event's cached parts, written straight into the frame, and no copy made.
    let parts = this.#options.ownCopy?.(event) === true ? eventCopyJsonParts(event) : undefined;
    let copy: Pick<ExtensionTask['event'], 'uuid' | 'data' | 'timestamp' | 'account'> = event;
    if (parts === undefined) {
      const made = this.#options.toEvent(event);
      copy = made;
      // The same parts when the copy is the event's own members (no token shown); else its text, stringified.
      const own = made.account === event.account && made.data === event.data && made.timestamp === event.timestamp && made.uuid === event.uuid;
      parts = own ? eventCopyJsonParts(event) : undefined;
    }
    const json = parts === undefined ? JSON.stringify(copy) : '';
    // Measured once: the handle frame carries the same bytes.
    // Every member given here (parts, utf8In and utf8At too): one shape from the start, no property store added when its frame is encoded.
    const bytes = parts === undefined ? Buffer.byteLength(json, 'utf8') : parts.bytes;
    const encoded: Encoded = { json, bytes, parts, utf8In: undefined, utf8At: 0, data: copy.data, timestamp: copy.timestamp, token: shownToken(copy) };
    const kept = bytes <= ENCODED_MAX_BYTES;
    const uuid = copy.uuid;
    if (kept) this.#keepEncoded(uuid, encoded);
    // No promise per event: the answer is handed to the handler as it is read (AnswerToCome).
    const asked = new Asked(this, uuid, kept, parent, configuration);
    try {
      process.send(GET_CONFIGURATION, asked, encoded);
    } catch (err) {
      // Its frame would be over the limit: nothing was sent, and the event is rejected.
      if (kept) this.#encoded.delete(uuid);
      throw err;
    }
    return asked;
  }

  /** A getConfiguration answer (Asked): the decision, or the error it is; the event's JSON is kept only for an event to handle now. */
  answered(asked: Asked, answer: Response): unknown {
    let decided: unknown;
    try {
      decided = this.#decision(answer, asked.parent, asked.configuration);
    } catch (err) {
      if (asked.kept) this.#encoded.delete(asked.uuid);
      throw err;
    }
    // Only an event to handle now takes its JSON again: a skip or a delay lets it go at once.
    if (asked.kept && !(typeof decided === 'string' || (Array.isArray(decided) && typeof decided[0] === 'string'))) this.#encoded.delete(asked.uuid);
    return decided;
  }

  failed(asked: Asked): void {
    if (asked.kept) this.#encoded.delete(asked.uuid);
  }

  #keepEncoded(uuid: string, kept: Encoded): void {
    const encoded = this.#encoded;
    if (encoded.size >= ENCODED_KEPT) encoded.delete(encoded.keys().next().value as string);
    encoded.set(uuid, kept);
  }

  /** The JSON of this event copy if its getConfiguration frame carried it (the same event, the same token), once. */
  #takeEncoded(copy: ExtensionTask['event']): EncodedEvent | undefined {
    const kept = this.#encoded.get(copy.uuid);
    if (kept === undefined) return undefined;
    this.#encoded.delete(copy.uuid);
    if (kept.data !== copy.data || kept.timestamp !== copy.timestamp || kept.token !== shownToken(copy)) return undefined;
    return kept;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#encoded.clear();
    await this.#process?.shutdown();
  }

  #ask(request: Request): Promise<Response> {
    const process = this.#process;
    if (process === undefined) return Promise.reject(this.#notRunning());
    return process.request(request);
  }

  #notRunning(): Error {
    return new ExtensionProcessError(`Extension handler "${this.#options.handler}"`, 'its Python main process is not running');
  }

  /** A lifecycle call with a limit: a hung onStart must not hold the handler forever. */
  #lifecycle(request: Request, what: string): Promise<Response> {
    const limit = this.#options.lifecycleLimitMs;
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new HookTimeoutError(`Extension handler "${this.#options.handler}" ${what} (the Python main process was killed)`, limit));
        this.#process?.kill();
      }, limit);
      this.#ask(request).then(
        (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err as Error);
        },
      );
    });
  }

  /** The answer as ExtensionHandler's decision forms. */
  #decision(answer: Response, parent: ExtensionParent, configuration: string): unknown {
    if (answer.type === 'error') throw fromRemoteError(answer.error);
    if (answer.type !== 'decision') throw this.#unexpected('getConfiguration', answer);
    const decision = answer.decision;
    switch (decision.action) {
      case 'handle':
        return decision.events === undefined ? decision.configuration : [decision.configuration, decision.events];
      case 'skip':
        return decision.events === undefined ? null : [null, decision.events];
      case 'default':
        return configuration;
      case 'delay': {
        const call = decision.call;
        const delayed = parent.delay(decision.seconds, () =>
          this.#ask({ type: 'call', call }).then((next) => this.#decision(next, parent, configuration)),
        );
        return new PendingDecision(delayed, true);
      }
      case 'invalid':
        throw new ExtensionResultError(
          `getConfiguration() returned ${decision.returned}; return a configuration text, None, (configuration or None, events) or parent.delay(seconds, fn).`,
        );
      default:
        throw this.#unexpected('getConfiguration', answer);
    }
  }

  #unexpected(request: string, answer: Response): Error {
    return new ExtensionProcessError(
      `The Python main process of extension handler "${this.#options.handler}"`,
      `it answered "${request}" with ${JSON.stringify(answer).slice(0, 200)}`,
    );
  }
}

/** One getConfiguration request waiting for its answer: its main side makes the answer a decision, handed to the handler (AnswerToCome). */
class Asked extends AnswerToCome implements AnswerReceiver {
  constructor(
    readonly side: PythonMainSide,
    readonly uuid: string,
    /** The event's JSON is kept for its handle frame. */
    readonly kept: boolean,
    readonly parent: ExtensionParent,
    readonly configuration: string,
  ) {
    super();
  }

  answered(response: Response): void {
    let decided: unknown;
    try {
      decided = this.side.answered(this, response);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.decide(decided);
  }

  failed(error: Error): void {
    this.side.failed(this);
    this.fail(error);
  }
}
