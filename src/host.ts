// createHost(): wires the catalogue, the hook points and the emit pipeline
// together. Subsystems (handlers, targets, delivery, plugins) attach through
// emit stages and close hooks, so this file stays the only place that knows
// them all.

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClosedError, InvalidArgumentError, InvalidEventDataError, UnknownEventError } from './errors.js';
import { EventCatalogue, type EventDefinition } from './events/catalogue.js';
import { ENGINE_EVENTS, ENGINE_EVENT_DEFINITIONS } from './events/engine-events.js';
import { buildEnvelope, type EmitInput, type EventData, type EventServer, type HookworkEvent } from './events/envelope.js';
import { freezeData } from './events/freeze-data.js';
import { newEventUuid } from './events/event-uuid.js';
import { emitFingerprint, MemoryIdempotencyKeys, runIdempotent, type IdempotencyOptions } from './events/idempotency.js';
import { ChangePoints, type ChangeHookFn, type ChangeOutcome, type ChangePointOptions } from './hooks/change.js';
import { Gates, type GateDecision, type GateFn, type GatePointOptions, type GateRegistration } from './hooks/gate.js';
import { Methods, type ArgsOf, type MethodFn, type MiddlewareFn, type Next } from './hooks/middleware.js';
import { Channel, type SendingRecord } from './hooks/channel.js';
import { Monitor } from './hooks/monitor.js';
import { Notifier, type Subscriber, type SubscriberFn } from './hooks/notify.js';
import { Scope, type Disposer, type RegistrationKind } from './hooks/scope.js';
import { createLogger, type Logger } from './logger.js';
import { NO_METRICS, type CounterChild, type Metrics } from './metrics/metrics.js';
import { endSpan, startSpan, tracingOn, withSpan } from './tracing.js';

/** The groups of an event id missing from the catalogue (strict mode off): frozen like every catalogue entry's. */
const NO_GROUPS: readonly string[] = Object.freeze([]);

/**
 * The host's hook map, for strong typing: event ids to their data, gate names
 * to their context, change points to their value, methods to their signature.
 * Every part is optional; what is left out is loosely typed.
 */
export interface HookMap {
  events?: Record<string, EventData>;
  gates?: Record<string, unknown>;
  changes?: Record<string, unknown>;
  methods?: Record<string, MethodFn>;
}

type Loose<T, Fallback> = T extends undefined ? Fallback : unknown extends T ? Fallback : T;
export type EventsOf<M extends HookMap> = Loose<M['events'], Record<string, EventData>>;
export type GatesOf<M extends HookMap> = Loose<M['gates'], Record<string, unknown>>;
export type ChangesOf<M extends HookMap> = Loose<M['changes'], Record<string, unknown>>;
export type MethodsOf<M extends HookMap> = Loose<M['methods'], Record<string, MethodFn>>;

type EventIdOf<M extends HookMap> = Extract<keyof EventsOf<M>, string>;
type DataOf<M extends HookMap, K> = K extends keyof EventsOf<M> ? EventsOf<M>[K] : EventData;

/** An event id, `group:<name>`, or `*`. */
export type SubscriptionTarget<M extends HookMap> = EventIdOf<M> | `group:${string}` | '*' | (string & {});

export type EventFor<M extends HookMap, K> = HookworkEvent<DataOf<M, K> & EventData>;

export interface SubscribeOptions {
  /** Shown in failure events; defaults to the scope's name. */
  name?: string;
}

/** How one emit runs. */
export interface EmitOptions {
  /**
   * Emits once per key: a repeat within the idempotency window (default
   * 24 h) with the same id and input resolves to the first emit's event (same
   * uuid and time) and runs nothing; with other input it rejects with
   * HKW_ERR_IDEMPOTENCY_CONFLICT. Keys are kept in the delivery store when
   * the runtime has one (across restarts, and across nodes on PostgreSQL).
   */
  idempotencyKey?: string;
}

/** What emitIdempotent() resolves to: the event, and whether it is an earlier emit's, replayed. */
export interface IdempotentEmit {
  readonly event: HookworkEvent;
  readonly replayed: boolean;
}

/** Longest idempotency key accepted (characters). */
export const IDEMPOTENCY_KEY_MAX = 255;

/** Runs inside emit(), before it returns: handler routing, durable enqueueing. emit() waits for a promise it returns (its value is ignored). */
export type EmitStage = (event: HookworkEvent) => void | Promise<unknown>;

/** The registration side of the host, owned by a scope (a plugin, a handler). */
export interface HostScope<M extends HookMap = HookMap> {
  readonly name: string;
  readonly host: Host<M>;
  on<K extends SubscriptionTarget<M>>(target: K, fn: SubscriberFn<EventFor<M, K>>, options?: SubscribeOptions): Disposer;
  onGate<K extends Extract<keyof GatesOf<M>, string>>(
    name: K,
    fn: GateFn<GatesOf<M>[K]>,
    options?: GateRegistration,
  ): Disposer;
  onChange<K extends Extract<keyof ChangesOf<M>, string>>(name: K, fn: ChangeHookFn<ChangesOf<M>[K]>): Disposer;
  use<K extends Extract<keyof MethodsOf<M>, string>>(method: K, middleware: MiddlewareFn<MethodsOf<M>[K]>): Disposer;
  define<K extends Extract<keyof MethodsOf<M>, string>>(method: K, impl: MethodsOf<M>[K]): Disposer;
  emit<K extends EventIdOf<M> | (string & {})>(id: K, input?: EmitInput<DataOf<M, K>>, options?: EmitOptions): Promise<HookworkEvent>;
  /** Takes ownership of any other disposable (routes, tasks, schedules). */
  track(kind: RegistrationKind, dispose: () => void | Promise<void>): Disposer;
  /** Live registrations by kind. */
  registrations(): Record<string, number>;
  readonly size: number;
  readonly disposed: boolean;
  /** Removes every registration made through this scope. */
  dispose(): Promise<void>;
}

export interface HostOptions {
  /** The server's identity in every event. The uuid is generated once and kept in `dataDir`. */
  server?: { name?: string; uuid?: string };
  /** Where the host keeps state (its server uuid); nothing is written without it. */
  dataDir?: string;
  /** The host's event catalogue (the engine's own events are always there). */
  events?: readonly EventDefinition[];
  /** Unknown event ids are errors (default true); false logs a warning and emits anyway. */
  strict?: boolean;
  gates?: Readonly<Record<string, GatePointOptions>>;
  changes?: Readonly<Record<string, ChangePointOptions>>;
  logger?: Logger;
  /** Where the engine records its metrics (default: nowhere); the runtime passes its Prometheus registry. */
  metrics?: Metrics;
}

export interface Host<M extends HookMap = HookMap> extends Omit<HostScope<M>, 'dispose' | 'host' | 'disposed'> {
  readonly catalogue: EventCatalogue;
  readonly server: EventServer;
  readonly logger: Logger;
  readonly monitor: Monitor;
  /** The engine's metrics (NO_METRICS when off): subsystems bind their series on it. */
  readonly metrics: Metrics;
  /** Engine streams that are not catalogue events (LUNA's sending records). */
  readonly channels: { readonly sending: Channel<SendingRecord> };
  readonly strict: boolean;
  /** Runs the gates of `name`: allow, deny with a reason, or handled. */
  gate<K extends Extract<keyof GatesOf<M>, string>>(name: K, context: GatesOf<M>[K]): Promise<GateDecision>;
  /** Asks the hooks of a change point; returns the value to apply or the block. */
  change<K extends Extract<keyof ChangesOf<M>, string>>(
    name: K,
    old: ChangesOf<M>[K] | undefined,
    value: ChangesOf<M>[K],
  ): Promise<ChangeOutcome<ChangesOf<M>[K]>>;
  /** Calls a method through its middleware. */
  call<K extends Extract<keyof MethodsOf<M>, string>>(method: K, ...args: ArgsOf<MethodsOf<M>[K]>): ReturnType<MethodsOf<M>[K]>;
  /** The method as a callable that goes through its middleware. */
  method<K extends Extract<keyof MethodsOf<M>, string>>(method: K): Next<MethodsOf<M>[K]>;
  /** The event `emit` would build (validated, frozen), without emitting it: test sends. */
  build(id: string, input?: EmitInput): HookworkEvent;
  declareGate(name: string, options?: GatePointOptions): void;
  declareChange(name: string, options?: ChangePointOptions): void;
  readonly gates: Gates;
  readonly changes: ChangePoints;
  readonly methods: Methods;
  readonly notifier: Notifier<HookworkEvent>;
  /** A new scope whose dispose() removes everything registered through it. */
  scope(name: string): HostScope<M>;
  /** Throws what emit() would for this id and input (unknown id, invalid data), and emits nothing: a batch checks all its events first. */
  check(id: string, input?: EmitInput): void;
  /** emit() under an idempotency key, saying whether the event is a replay of an earlier emit's (the gateway's Idempotent-Replayed). */
  emitIdempotent(id: string, input: EmitInput | undefined, key: string): Promise<IdempotentEmit>;
  /**
   * Where idempotency keys are kept and for how long (the delivery installer
   * passes its store). Until called, keys live in this process for 24 h.
   */
  useIdempotency(options: IdempotencyOptions): void;
  /** Adds a stage that every emit() runs (and awaits) before returning. */
  addEmitStage(stage: EmitStage): Disposer;
  /** Runs on close(), newest first. */
  onClose(fn: () => void | Promise<void>): Disposer;
  /** Resolves once every dispatched event has reached its subscribers and their promises settled. */
  idle(): Promise<void>;
  readonly closed: boolean;
  close(): Promise<void>;
}

const IDENTITY_FILE = 'server-identity.json';

function loadServerIdentity(options: HostOptions): EventServer {
  const name = options.server?.name ?? 'hookwork';
  if (options.server?.uuid !== undefined) return Object.freeze({ uuid: options.server.uuid, name });
  if (options.dataDir === undefined) return Object.freeze({ uuid: randomUUID(), name });
  const file = join(options.dataDir, IDENTITY_FILE);
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { uuid?: unknown };
    if (typeof stored.uuid === 'string' && stored.uuid !== '') return Object.freeze({ uuid: stored.uuid, name });
  } catch {
    // First start (or an unreadable file): generate and keep a new identity.
  }
  const uuid = randomUUID();
  mkdirSync(options.dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ uuid }, null, 2)}\n`);
  return Object.freeze({ uuid, name });
}

interface PendingDispatch {
  subscribers: readonly Subscriber<HookworkEvent>[];
  event: HookworkEvent;
}

export function createHost<M extends HookMap = HookMap>(options: HostOptions = {}): Host<M> {
  const logger = options.logger ?? createLogger();
  const strict = options.strict ?? true;
  const catalogue = new EventCatalogue();
  catalogue.declare(ENGINE_EVENT_DEFINITIONS);
  if (options.events !== undefined) catalogue.declare(options.events);
  const server = loadServerIdentity(options);
  const monitor = new Monitor();
  const metrics = options.metrics ?? NO_METRICS;
  const gates = new Gates(logger, monitor, metrics);
  const changes = new ChangePoints(logger, monitor, metrics);
  const methods = new Methods(monitor, metrics);
  const emittedFamily = metrics.counter('hookwork_events_emitted_total', 'Events emitted through host.emit, per event id (ids outside the catalogue count as "_unknown").', ['event']);
  // One bound series per event id, made at its first emit: the emit path then only looks it up.
  const emittedById = new Map<string, CounterChild>();
  // A boolean of this closure's, not a property read: emitEvent's code is shared by every host in the process.
  const countEmits = metrics.enabled;
  const emittedChild = (id: string): CounterChild => {
    let child = emittedById.get(id);
    if (child === undefined) {
      if (!catalogue.has(id)) return emittedFamily.labels('_unknown'); // strict off: any id, so no series per id
      child = emittedFamily.labels(id);
      emittedById.set(id, child);
    }
    return child;
  };
  for (const [name, gateOptions] of Object.entries(options.gates ?? {})) gates.declare(name, gateOptions);
  for (const [name, changeOptions] of Object.entries(options.changes ?? {})) changes.declare(name, changeOptions);

  const stages: EmitStage[] = [];
  const closeHooks: Array<() => void | Promise<void>> = [];
  let closed = false;
  let catalogueVersion = catalogue.version;

  // Subscribers run after emit() returns: dispatches queue up and one
  // microtask drains them, so the emitter never waits for (or breaks on) them.
  let queue: PendingDispatch[] = [];
  let draining: Promise<void> | undefined;
  const drain = (): void => {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      for (const item of batch) notifier.dispatch(item.subscribers, item.event);
    }
    draining = undefined;
  };

  // Failure reports being emitted (their emit stages may be async); idle() waits for them.
  const reports = new Set<Promise<unknown>>();
  const notifier: Notifier<HookworkEvent> = new Notifier<HookworkEvent>((subscriber, event, error) => {
    logger.warn({ err: error, subscriber: subscriber.name, event: event.id }, `Subscriber "${subscriber.name}" failed on event ${event.id}`);
    if (event.id === ENGINE_EVENTS.handlerFailed) return; // never report a failure about a failure report
    if (closed) return;
    const report = emitEvent(ENGINE_EVENTS.handlerFailed, {
      data: {
        handler: subscriber.name,
        kind: 'subscriber',
        event_id: event.id,
        event_uuid: event.uuid,
        error: error.message,
        stack: error.stack ?? '',
      },
    })
      .then(
        () => undefined,
        (err: unknown) => logger.error({ err }, 'Could not emit the handler-failed event'),
      )
      .finally(() => reports.delete(report));
    reports.add(report);
  }, monitor);

  function buildEvent(id: string, input: EmitInput = {}): HookworkEvent {
    const entry = catalogue.get(id);
    if (entry === undefined && strict) throw new UnknownEventError(id);
    if (entry === undefined) logger.warn({ event: id }, `Event id "${id}" is not in the catalogue (strict mode is off)`);
    let data: unknown = input.data ?? {};
    if (entry?.schema !== undefined) {
      const parsed = entry.schema.safeParse(data);
      if (!parsed.success) {
        throw new InvalidEventDataError(
          id,
          parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(data)'}: ${issue.message}`),
        );
      }
      data = parsed.data;
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new InvalidEventDataError(id, ['data must be an object']);
    }
    const frozen = freezeData(data, { deriveMembers: true }) as EventData;
    return buildEnvelope({
      id,
      name: entry?.name ?? id,
      groups: entry?.groups ?? NO_GROUPS,
      data: frozen,
      input,
      server,
      message: entry?.message,
    });
  }

  // Made on the first keyed emit: a host that never uses keys keeps nothing.
  let idempotency: IdempotencyOptions | undefined;
  const idempotencyOptions = (): IdempotencyOptions =>
    (idempotency ??= { keeper: new MemoryIdempotencyKeys(), windowMs: 24 * 3600_000, staleMs: 120_000 });

  function emitIdempotent(id: string, input: EmitInput | undefined, key: string): Promise<IdempotentEmit> {
    if (typeof key !== 'string' || key === '' || key.length > IDEMPOTENCY_KEY_MAX) {
      return Promise.reject(new InvalidArgumentError(`emit(): the idempotency key must be a non-empty string of at most ${IDEMPOTENCY_KEY_MAX} characters.`));
    }
    if (closed) return Promise.reject(new ClosedError('The host'));
    return runIdempotent(idempotencyOptions(), key, emitFingerprint(id, input), {
      newUuid: () => input?.uuid ?? newEventUuid(),
      // The reserved uuid and time: a takeover of an abandoned reservation emits the same event.
      emit: (uuid, timeMs) => emitEvent(id, { ...input, uuid, timestampMs: input?.timestampMs ?? timeMs }),
      replay: (uuid, timeMs) => buildEvent(id, { ...input, uuid, timestampMs: input?.timestampMs ?? timeMs }),
    });
  }

  function emitEvent(id: string, input?: EmitInput): Promise<HookworkEvent> {
    if (!tracingOn()) return emitNow(id, input);
    // A span per emit, parent of the routing and enqueueing spans its stages start.
    const span = startSpan(`emit ${id}`, { 'hookwork.event.id': id });
    return withSpan(span, () => emitNow(id, input)).then(
      (event) => {
        span.setAttribute('hookwork.event.uuid', event.uuid);
        endSpan(span);
        return event;
      },
      (err: unknown) => {
        endSpan(span, err);
        throw err;
      },
    );
  }

  async function emitNow(id: string, input?: EmitInput): Promise<HookworkEvent> {
    if (closed) throw new ClosedError('The host');
    const event = buildEvent(id, input);
    for (let i = 0; i < stages.length; i++) {
      const result = (stages[i] as EmitStage)(event);
      if (result !== undefined) await result;
    }
    if (catalogueVersion !== catalogue.version) {
      catalogueVersion = catalogue.version;
      notifier.invalidate();
    }
    if (countEmits) emittedChild(id).inc();
    const subscribers = notifier.route(event);
    if (subscribers.length > 0) {
      queue.push({ subscribers, event });
      draining ??= Promise.resolve().then(drain);
    }
    return event;
  }

  function makeScope(name: string): HostScope<M> {
    const scope = new Scope(name);
    const api: HostScope<M> = {
      name,
      get host() {
        return host;
      },
      on(target, fn, subscribeOptions) {
        scope.assertOpen();
        return scope.track(
          'subscriber',
          notifier.subscribe(target, fn as SubscriberFn<HookworkEvent>, subscribeOptions?.name ?? name),
        );
      },
      onGate(gateName, fn, gateOptions) {
        scope.assertOpen();
        return scope.track('gate', gates.register(gateName, fn, { name, ...gateOptions }));
      },
      onChange(point, fn) {
        scope.assertOpen();
        return scope.track('change', changes.hook(point, fn, name));
      },
      use(method, middleware) {
        scope.assertOpen();
        return scope.track('middleware', methods.use(method, middleware, name));
      },
      define(method, impl) {
        scope.assertOpen();
        return scope.track('method', methods.define(method, impl));
      },
      emit(id, input, emitOptions) {
        if (emitOptions?.idempotencyKey !== undefined) {
          return emitIdempotent(id, input as EmitInput | undefined, emitOptions.idempotencyKey).then((r) => r.event);
        }
        return emitEvent(id, input as EmitInput | undefined);
      },
      track(kind, dispose) {
        return scope.track(kind, dispose);
      },
      registrations: () => scope.counts(),
      get size() {
        return scope.size;
      },
      get disposed() {
        return scope.disposed;
      },
      dispose: () => scope.dispose(),
    };
    return api;
  }

  const root = makeScope('host');

  const host: Host<M> = {
    name: 'host',
    catalogue,
    server,
    logger,
    monitor,
    metrics,
    channels: { sending: new Channel<SendingRecord>() },
    strict,
    gates,
    changes,
    methods,
    notifier,
    on: root.on,
    onGate: root.onGate,
    onChange: root.onChange,
    use: root.use,
    define: root.define,
    emit: root.emit,
    build: buildEvent,
    track: root.track,
    registrations: root.registrations,
    get size() {
      return root.size;
    },
    gate(name, context) {
      return gates.run(name, context);
    },
    change(name, old, value) {
      return changes.apply(name, old, value);
    },
    call(method, ...args) {
      return methods.call(method, ...args);
    },
    method(method) {
      return methods.get(method);
    },
    declareGate: (name, gateOptions) => gates.declare(name, gateOptions),
    declareChange: (name, changeOptions) => changes.declare(name, changeOptions),
    scope: makeScope,
    emitIdempotent,
    check(id, input) {
      buildEvent(id, input);
    },
    useIdempotency(next) {
      idempotency = next;
    },
    addEmitStage(stage) {
      stages.push(stage);
      return () => {
        const index = stages.indexOf(stage);
        if (index !== -1) stages.splice(index, 1);
      };
    },
    onClose(fn) {
      closeHooks.push(fn);
      return () => {
        const index = closeHooks.indexOf(fn);
        if (index !== -1) closeHooks.splice(index, 1);
      };
    },
    async idle() {
      // Settling one thing may start another (a failing subscriber emits a
      // handler-failed event), so loop until everything is quiet at once.
      for (;;) {
        if (draining !== undefined || queue.length > 0) await (draining ?? Promise.resolve());
        else if (notifier.pending > 0) await notifier.idle();
        else if (reports.size > 0) await Promise.all(reports);
        else return;
      }
    },
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      await host.idle();
      closed = true;
      for (const fn of [...closeHooks].reverse()) {
        try {
          await fn();
        } catch (err) {
          logger.error({ err }, 'A close hook failed');
        }
      }
      monitor.flush();
      await root.dispose();
    },
  };
  return host;
}

/**
 * Emits an engine event from a path that cannot wait for it or take its
 * failure (a report, a callback): nothing once the host is closed, and a
 * failed emit is logged, never thrown.
 */
export function emitEngineEvent(host: Pick<Host, 'closed' | 'emit'>, id: string, input: EmitInput, logger: Logger): void {
  if (host.closed) return;
  host.emit(id, input).catch((err: unknown) => logger.warn({ err, event: id }, `Could not emit engine event ${id}`));
}
