// Actions (SFTPGo's model): action(name, input, operation) runs the
// `pre-<name>` gate (every command and webhook configured for it included);
// a deny throws PermissionDeniedError and the operation does not run; a
// handled verdict skips the operation and its post hooks. Then the operation
// runs and the `<name>` event is emitted with its status and elapsed time.
// Post hooks go through the delivery queue, unless the action is execute_sync:
// then they run before action() returns, and a failure reaches the caller
// after the host's undo callback ran.

import { ActionHookFailedError, PermissionDeniedError, QuotaExceededError, toError } from '../errors.js';
import { ENGINE_EVENTS } from '../events/engine-events.js';
import type { AccountInput, ComponentInput, EventData, HookworkEvent } from '../events/envelope.js';
import type { GateDecision } from '../hooks/gate.js';
import type { Host } from '../host.js';
import type { ActionsConfig } from './config-schema.js';
import type { TargetRouter } from '../handlers/router.js';

export type ActionStatus = 'ok' | 'error' | 'quota_exceeded';

/** SFTPGo's status numbers: 0 generic error, 1 ok, 2 quota exceeded. */
export const ACTION_STATUS_CODES: Readonly<Record<ActionStatus, 0 | 1 | 2>> = { error: 0, ok: 1, quota_exceeded: 2 };

export interface ActionInput {
  /** The action's details (path, size, protocol…): the event's data, and the gate's. */
  data?: Record<string, unknown>;
  account?: AccountInput;
  component?: ComponentInput;
}

export interface PostInput extends ActionInput {
  /** Default ok. SFTPGo's numbers are accepted too. */
  status?: ActionStatus | 0 | 1 | 2;
  elapsedMs?: number;
  /** The operation's error message, when it failed. */
  error?: string;
}

export interface PostResult {
  readonly event: HookworkEvent;
  /** Failures of synchronous post hooks (execute_sync); empty otherwise. */
  readonly failures: readonly string[];
}

export interface ActionRunOptions {
  /** Called when a synchronous post hook failed after the operation ran (SFTPGo deletes the rejected upload). */
  undo?: (error: ActionHookFailedError) => void | Promise<void>;
}

export interface ActionResult<T> {
  /** `handled`: a pre hook did the work itself; the operation and post hooks did not run. */
  readonly outcome: 'done' | 'handled';
  readonly value?: T;
  readonly event?: HookworkEvent;
  readonly reason?: string;
}

export interface ActionsOptions {
  readonly host: Host;
  readonly router: TargetRouter | undefined;
  /** Actions named in the config (declared as events when missing from the catalogue). */
  readonly declared?: ReadonlySet<string>;
  readonly syncEventNames?: ReadonlySet<string>;
  readonly options?: ActionsConfig['options'];
}

function statusOf(status: PostInput['status']): ActionStatus {
  if (status === undefined || status === 1 || status === 'ok') return 'ok';
  if (status === 2 || status === 'quota_exceeded') return 'quota_exceeded';
  return 'error';
}

export class Actions {
  readonly #host: Host;
  readonly #router: TargetRouter | undefined;
  readonly #sync: ReadonlySet<string>;
  readonly #eventIds = new Map<string, string>();
  #catalogueVersion = -1;

  constructor(options: ActionsOptions) {
    this.#host = options.host;
    this.#router = options.router;
    this.#sync = options.syncEventNames ?? new Set();
  }

  /** True when the action's post hooks run before action() returns. */
  isSync(name: string): boolean {
    return this.#sync.has(name);
  }

  /** The catalogue id of the action's event; an action the catalogue lacks is declared (id = name). */
  eventIdOf(name: string): string {
    const catalogue = this.#host.catalogue;
    if (this.#catalogueVersion !== catalogue.version) {
      this.#eventIds.clear();
      this.#catalogueVersion = catalogue.version;
    }
    let id = this.#eventIds.get(name);
    if (id !== undefined) return id;
    if (catalogue.has(name)) id = name;
    else id = catalogue.list().find((entry) => entry.name === name)?.id;
    if (id === undefined) {
      catalogue.declare({ id: name, name, groups: ['action'], message: `Action ${name}: {{data.status_text}}` });
      this.#catalogueVersion = catalogue.version;
      id = name;
    }
    this.#eventIds.set(name, id);
    return id;
  }

  /** Runs the `pre-<name>` gate: allow, deny (with a reason) or handled. */
  pre(name: string, input: ActionInput = {}): Promise<GateDecision> {
    const gate = `pre-${name}`;
    if (!this.#host.gates.has(gate)) this.#host.declareGate(gate);
    return this.#host.gate(gate, {
      action: name,
      data: { ...(input.data ?? {}), action: gate },
      ...(input.account === undefined ? {} : { account: input.account }),
      ...(input.component === undefined ? {} : { component: input.component }),
    });
  }

  /** Emits the `<name>` event with the status and elapsed time; sync post hooks have run when it resolves. */
  async post(name: string, input: PostInput = {}): Promise<PostResult> {
    const status = statusOf(input.status);
    const data: Record<string, unknown> = {
      ...(input.data ?? {}),
      action: name,
      status: ACTION_STATUS_CODES[status],
      status_text: status,
      elapsed_ms: input.elapsedMs ?? 0,
      ...(input.error === undefined ? {} : { error: input.error }),
    };
    const event = await this.#host.emit(this.eventIdOf(name), {
      data: data as EventData,
      ...(input.account === undefined ? {} : { account: input.account }),
      ...(input.component === undefined ? {} : { component: input.component }),
    });
    const failures = this.#router?.failuresOf(event) ?? [];
    if (failures.length > 0) {
      await this.#host
        .emit(ENGINE_EVENTS.actionSyncHookFailed, { data: { action: name, event_uuid: event.uuid, error: failures.join('; ') } })
        .catch(() => undefined);
    }
    return { event, failures };
  }

  /** The whole action: gate, operation, event, post hooks. */
  async run<T>(name: string, input: ActionInput, operation: () => T | Promise<T>, options: ActionRunOptions = {}): Promise<ActionResult<T>> {
    const decision = await this.pre(name, input);
    if (decision.verdict === 'deny') {
      throw new PermissionDeniedError(decision.reason ?? `The action "${name}" was denied by its pre-${name} hooks.`);
    }
    if (decision.verdict === 'handled') {
      return { outcome: 'handled', ...(decision.reason === undefined ? {} : { reason: decision.reason }) };
    }
    const started = performance.now();
    let value: T | undefined;
    let failure: Error | undefined;
    let status: ActionStatus = 'ok';
    try {
      value = await operation();
    } catch (err) {
      failure = toError(err);
      status = err instanceof QuotaExceededError ? 'quota_exceeded' : 'error';
    }
    const post = await this.post(name, {
      ...input,
      status,
      elapsedMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...(failure === undefined ? {} : { error: failure.message }),
    });
    if (failure !== undefined) throw failure;
    if (post.failures.length > 0) {
      const error = new ActionHookFailedError(name, post.failures);
      if (options.undo !== undefined) {
        try {
          await options.undo(error);
        } catch (undoError) {
          this.#host.logger.error({ err: undoError, action: name }, `The undo callback of action "${name}" failed`);
        }
      }
      throw error;
    }
    return { outcome: 'done', event: post.event, ...(value === undefined ? {} : { value }) };
  }
}

/** What action() needs of a runtime (a Runtime is one): its host and, when installed, its actions. */
export interface ActionOwner {
  readonly host: Host;
  readonly services: { readonly actions?: Actions | undefined };
}

/**
 * `action(runtime, name, input, operation)` for the embedding host: runs the
 * action through the runtime's targets (or a bare host's gates and events).
 */
export function action<T>(
  owner: ActionOwner | Host,
  name: string,
  input: ActionInput,
  operation: () => T | Promise<T>,
  options?: ActionRunOptions,
): Promise<ActionResult<T>> {
  const actions = 'services' in owner ? owner.services.actions : undefined;
  const runner = actions ?? new Actions({ host: 'services' in owner ? owner.host : owner, router: undefined });
  return runner.run(name, input, operation, options);
}
