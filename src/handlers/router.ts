// The targets' emit stage: routes each event through a HandlerIndex to the
// command and webhook targets that follow it, enqueues one delivery per async
// target before emit() returns, and runs sync targets (and every target of an
// execute_sync action) inline, remembering their failures for the caller.

import { ENGINE_EVENTS } from '../events/engine-events.js';
import { eventJsonText, eventToJSON } from '../events/event-json.js';
import type { HookworkEvent } from '../events/envelope.js';
import type { DeliveryQueue, EnqueueOptions, NewDelivery } from '../delivery/types.js';
import { HandlerIndex } from './handler-index.js';
import type { Logger } from '../logger.js';
import { traced, tracingOn } from '../tracing.js';
import { toError } from '../errors.js';
import { rememberSerialised } from '../events/record-json.js';
import { newWebhookId } from '../delivery/message-id.js';
import type { EventRecord, OutboundTarget, RunResult } from './target.js';
import { append } from '../append.js';

export interface Route {
  readonly target: OutboundTarget;
  /** Extra conditions beyond the event id (handler filters). */
  readonly matches?: (event: HookworkEvent) => boolean;
  /** Run inline rather than through the queue. */
  readonly sync: boolean;
}

export interface RouterOptions {
  readonly queue: DeliveryQueue;
  readonly logger: Logger;
  /** Targets by name, for `then` chains. */
  readonly targets: ReadonlyMap<string, OutboundTarget>;
  /** Target name -> the names of the targets to run after it succeeds. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** Event names whose targets all run inline (execute_sync actions). */
  readonly syncEventNames: ReadonlySet<string>;
  /** Reports a failed inline run (the installer emits 20174), with the record the failed target ran on. */
  readonly onSyncFailure: (target: OutboundTarget, event: HookworkEvent, error: string, record: EventRecord) => void;
}

const NEVER = new AbortController().signal;
/** An emit does not read its deliveries' records: the queue makes none for them. */
const UNREAD: EnqueueOptions = Object.freeze({ records: false });
const NOTHING_QUEUED: Promise<void> = Promise.resolve();

/**
 * The member of a queued chain step's event that holds the steps still to
 * run after it (`then` through the delivery queue). The queue's wrapper
 * removes it before the target sees the event.
 */
export const THEN_PENDING = 'hookwork_then_pending';

/**
 * The original event of a failure, for `on_failure` handlers and the
 * delivery-failed event: without the chain's bookkeeping and without a
 * granted secret (whoever follows the failure was not granted it).
 */
export function failedEventRecord(record: EventRecord): EventRecord {
  const { [THEN_PENDING]: _pending, ...rest } = record;
  const account = rest['account'];
  if (account !== null && typeof account === 'object' && 'token' in account) {
    const { token: _token, ...withoutToken } = account as Record<string, unknown>;
    return { ...rest, account: withoutToken };
  }
  return rest;
}

/**
 * eventToJSON(event) (the parse of the event's JSON) for targets without
 * grants, keeping the JSON text: a json webhook body is then that text, not a
 * second serialisation of the record. test/handlers/router-record.test.ts
 * checks that it stays equal to eventToJSON.
 */
export function eventRecord(event: HookworkEvent): EventRecord {
  return plainRecord(eventJsonText(event));
}

function plainRecord(text: string): EventRecord {
  const record = JSON.parse(text) as EventRecord;
  rememberSerialised(record, text);
  return record;
}

export class TargetRouter {
  readonly #index = new HandlerIndex<Route>();
  readonly #o: RouterOptions;
  readonly #failures = new WeakMap<HookworkEvent, string[]>();

  constructor(options: RouterOptions) {
    this.#o = options;
  }

  /** Follows these event ids (null: every event); returns the remover. */
  add(eventIds: readonly string[] | null, route: Route): () => void {
    return this.#index.add(eventIds, route);
  }

  get size(): number {
    return this.#index.size;
  }

  /** The failures of the inline targets that ran for this event (empty when none failed). */
  failuresOf(event: HookworkEvent): readonly string[] {
    return this.#failures.get(event) ?? [];
  }

  /** The emit stage. Returns nothing (no promise) for events no target follows. */
  readonly stage = (event: HookworkEvent): void | Promise<unknown> => {
    const routes = this.#index.match(event);
    if (routes.length === 0) return;
    if (tracingOn()) return traced(`route ${event.id}`, { 'hookwork.event.id': event.id, 'hookwork.route.count': routes.length }, () => this.#dispatch(event, routes));
    return this.#dispatch(event, routes);
  };

  /**
   * Not async on the usual path (no inline target, no tracing): the emit
   * waits for the queue's own promise, not for an async frame's promise around it.
   */
  #dispatch(event: HookworkEvent, routes: readonly Route[]): Promise<unknown> {
    // Made by the first (append()): most events go to one target.
    let deliveries: NewDelivery[] | undefined;
    // Started only once the queue admitted the deliveries: a refused emit runs nothing.
    let inlineRuns: Array<[OutboundTarget, EventRecord]> | undefined;
    // A throw here rejects the emit, as it did when this was an async function.
    try {
      // One record per event and grant, made once whatever the number of targets.
      let plainJson: string | undefined;
      let plain: EventRecord | undefined;
      let granted: EventRecord | undefined;
      const allSync = this.#o.syncEventNames.has(event.name);
      for (const route of routes) {
        if (route.matches !== undefined && !route.matches(event)) continue;
        // A command never receives the report of its own run (no loops).
        if (event.id === ENGINE_EVENTS.commandExecuted && event.data['handler'] === route.target.name) continue;
        if (route.target.grants.has('account.token')) {
          granted ??= eventToJSON(event, { grantToken: true });
          if (route.sync || allSync) (inlineRuns ??= []).push([route.target, granted]);
          else deliveries = append(deliveries, { target: route.target.name, event: granted });
          continue;
        }
        plainJson ??= eventJsonText(event);
        if (route.sync || allSync) (inlineRuns ??= []).push([route.target, (plain ??= plainRecord(plainJson))]);
        // The queue stores the JSON as it is, and parses it only for a target that reads the event.
        else deliveries = append(deliveries, { target: route.target.name, eventJson: plainJson });
      }
      // Back-pressure (delivery.max_pending): throws before anything of the event is accepted or run.
      if (deliveries !== undefined) this.#o.queue.admit?.(deliveries);
      if (inlineRuns === undefined && !tracingOn()) return deliveries === undefined ? NOTHING_QUEUED : this.#o.queue.enqueue(deliveries, UNREAD);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueueAndRun(event, deliveries, inlineRuns);
  }

  /** The inline targets started, the deliveries enqueued (traced when tracing is on), then the inline runs waited for. */
  async #enqueueAndRun(event: HookworkEvent, deliveries: NewDelivery[] | undefined, inlineRuns: Array<[OutboundTarget, EventRecord]> | undefined): Promise<void> {
    const inline = inlineRuns === undefined ? undefined : inlineRuns.map(([target, record]) => this.#runInline(target, record, event));
    if (deliveries !== undefined) {
      const queued = deliveries;
      if (tracingOn()) await traced('enqueue', { 'hookwork.delivery.count': queued.length }, () => this.#o.queue.enqueue(queued, UNREAD));
      else await this.#o.queue.enqueue(queued, UNREAD);
    }
    if (inline !== undefined) await Promise.all(inline);
  }

  async #runInline(target: OutboundTarget, record: EventRecord, event: HookworkEvent): Promise<void> {
    const failures = await this.#runSteps(target, record, NEVER);
    if (failures.length === 0) return;
    let list = this.#failures.get(event);
    if (list === undefined) this.#failures.set(event, (list = []));
    for (const failure of failures) {
      list.push(failure.error);
      this.#o.onSyncFailure(failure.target, event, failure.error, failure.record);
    }
  }

  /**
   * Runs a target now and then, in order, the targets chained after it, each
   * once the one before it succeeded and with that one's `output` (SFTPGo's
   * ordered actions): the first failure stops the chain. Returns the failures.
   */
  async runChain(target: OutboundTarget, record: EventRecord, signal: AbortSignal = NEVER): Promise<string[]> {
    return (await this.#runSteps(target, record, signal)).map((failure) => failure.error);
  }

  async #runSteps(first: OutboundTarget, record: EventRecord, signal: AbortSignal): Promise<ChainFailure[]> {
    let target = first;
    let input = record;
    // What is left to run, depth first: a step's own `then` comes before the rest of its parent's.
    let pending: readonly string[] = [];
    for (;;) {
      let result: RunResult;
      try {
        result = await target.run(input, { webhookId: newWebhookId(), attempt: 1, signal });
      } catch (err) {
        result = { ok: false, error: toError(err).message };
      }
      if (!result.ok) return [{ target, error: result.error ?? `${target.name} failed`, record: input }];
      pending = [...(this.#o.chains.get(target.name) ?? []), ...pending];
      let next: OutboundTarget | undefined;
      while (next === undefined && pending.length > 0) {
        next = this.#o.targets.get(pending[0] as string);
        pending = pending.slice(1);
      }
      if (next === undefined) return [];
      input = { ...record, output: result.output ?? null };
      target = next;
    }
  }
}

/** A failed step of a chain: which target, and why. */
interface ChainFailure {
  readonly target: OutboundTarget;
  readonly error: string;
  readonly record: EventRecord;
}
