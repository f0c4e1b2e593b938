// Every error Hookwork throws lives here, with a stable code (`HKW_ERR_*`)
// that callers and the gateway can rely on. Messages say what was wrong,
// where, and how to fix it.

export interface ErrorOptions {
  cause?: unknown;
}

/** Base class: every Hookwork error has a stable `code` and an HTTP status. */
export class HookworkError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, message: string, statusCode = 500, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message };
  }
}

/** An id was emitted that the catalogue does not declare. */
export class UnknownEventError extends HookworkError {
  readonly eventId: string;
  constructor(eventId: string) {
    super(
      'HKW_ERR_UNKNOWN_EVENT',
      `Event id "${eventId}" is not in the event catalogue. Declare it with host.catalogue.declare({ id: "${eventId}", ... }) or in the config's "events" list, or turn strict mode off.`,
      400,
    );
    this.eventId = eventId;
  }
}

/** An event's data did not match its catalogue schema. */
export class InvalidEventDataError extends HookworkError {
  readonly eventId: string;
  readonly problems: readonly string[];
  constructor(eventId: string, problems: readonly string[]) {
    super(
      'HKW_ERR_INVALID_EVENT_DATA',
      `Data for event "${eventId}" does not match its schema: ${problems.join('; ')}`,
      400,
    );
    this.eventId = eventId;
    this.problems = problems;
  }
}

/** A hook point (gate, change point, method) was used before it was declared. */
export class UnknownHookPointError extends HookworkError {
  constructor(kind: 'gate' | 'change point' | 'method', name: string, known: readonly string[]) {
    const list = known.length > 0 ? ` Known ${kind}s: ${known.join(', ')}.` : '';
    super(
      'HKW_ERR_UNKNOWN_HOOK_POINT',
      `No ${kind} named "${name}" is declared.${list} Declare it on the host or in the config.`,
      404,
    );
  }
}

/** A hook point was declared twice with different options. */
export class HookPointConflictError extends HookworkError {
  constructor(kind: string, name: string, detail: string) {
    super('HKW_ERR_HOOK_POINT_CONFLICT', `The ${kind} "${name}" ${detail}`, 409);
  }
}

/** A second holder tried to take an exclusive change point (UCS's rule). */
export class ExclusiveHookTakenError extends HookworkError {
  readonly point: string;
  readonly holder: string;
  constructor(point: string, holder: string, requester: string) {
    super(
      'HKW_ERR_EXCLUSIVE_HOOK_TAKEN',
      `The exclusive change point "${point}" is already held by "${holder}"; "${requester}" cannot register on it until "${holder}" releases it (unloads or disposes its hook).`,
      409,
    );
    this.point = point;
    this.holder = holder;
  }
}

/**
 * Thrown by a change hook to block the change (UCS's ProcessingError).
 * The reason defaults to "Blocked by hook".
 */
export class ChangeBlockedError extends HookworkError {
  readonly reason: string;
  constructor(reason?: string) {
    const why = reason !== undefined && reason !== '' ? reason : 'Blocked by hook';
    super('HKW_ERR_CHANGE_BLOCKED', why, 409);
    this.reason = why;
  }
}

/** The caller may not do this: a gate denied, or middleware refused. */
export class PermissionDeniedError extends HookworkError {
  readonly reason: string;
  constructor(reason: string, options?: ErrorOptions) {
    super('HKW_ERR_PERMISSION_DENIED', reason, 403, options);
    this.reason = reason;
  }
}

/** Input failed validation; `fields` maps each bad field to its problem (UCS's InvalidDataInput). */
export class InvalidInputError extends HookworkError {
  readonly fields: Readonly<Record<string, string>>;
  constructor(fields: Record<string, string>, message?: string) {
    const summary = Object.entries(fields)
      .map(([field, problem]) => `${field}: ${problem}`)
      .join('; ');
    super('HKW_ERR_INVALID_INPUT', message ?? `Invalid input: ${summary}`, 400);
    this.fields = Object.freeze({ ...fields });
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, fields: this.fields };
  }
}

/** Something took longer than its limit. */
export class HookTimeoutError extends HookworkError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super('HKW_ERR_TIMEOUT', `${what} did not finish within ${timeoutMs} ms.`, 504);
    this.timeoutMs = timeoutMs;
  }
}

/** One problem found while validating a config, with where it is. */
export interface ConfigProblem {
  /** The file the problem is in, when the config came from files. */
  file?: string;
  /** Dotted path of the key, e.g. `handlers.2.url`. */
  key: string;
  message: string;
}

/** A config was refused as a whole; `problems` lists every problem found. */
export class ConfigError extends HookworkError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map(formatConfigProblem);
    super(
      'HKW_ERR_CONFIG_INVALID',
      `The config was refused (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.map((l) => `  - ${l}`).join('\n')}`,
      400,
    );
    this.problems = problems;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, problems: this.problems };
  }
}

export function formatConfigProblem(problem: ConfigProblem): string {
  const where = problem.file !== undefined ? `${problem.file}: ` : '';
  const key = problem.key === '' ? '(root)' : problem.key;
  return `${where}${key}: ${problem.message}`;
}

/** The host or a component was used after close(). */
export class ClosedError extends HookworkError {
  constructor(what: string) {
    super('HKW_ERR_CLOSED', `${what} is closed; create a new one.`, 503);
  }
}

/** A caller passed an argument of the wrong shape to a public API. */
export class InvalidArgumentError extends HookworkError {
  constructor(message: string) {
    super('HKW_ERR_INVALID_ARGUMENT', message, 400);
  }
}

/** Gives any thrown value an Error shape, so reports always have a message and stack. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** A webhook URL resolved to an address the SSRF guard refuses (loopback, private, metadata…). */
export class SsrfRefusedError extends HookworkError {
  readonly url: string;
  readonly address: string;
  readonly rule: string;
  constructor(url: string, address: string, rule: string) {
    super(
      'HKW_ERR_SSRF_REFUSED',
      `Refused to connect to ${url}: address ${address} is ${rule}. If this target is trusted, add a CIDR that covers it to the config's "ssrf.allow" list.`,
      403,
    );
    this.url = url;
    this.address = address;
    this.rule = rule;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, address: this.address, rule: this.rule };
  }
}

/** An action's operation ran out of quota (SFTPGo's status 2); thrown by the host's operation. */
export class QuotaExceededError extends HookworkError {
  constructor(message = 'Quota exceeded') {
    super('HKW_ERR_QUOTA_EXCEEDED', message, 413);
  }
}

/** A synchronous post hook of an action failed; the operation ran and the host was asked to undo it. */
export class ActionHookFailedError extends HookworkError {
  readonly action: string;
  readonly failures: readonly string[];
  constructor(action: string, failures: readonly string[]) {
    super(
      'HKW_ERR_ACTION_HOOK_FAILED',
      `The synchronous post hook${failures.length === 1 ? '' : 's'} of action "${action}" failed: ${failures.join('; ')}`,
      502,
    );
    this.action = action;
    this.failures = failures;
  }
}

/** A callback URL's token is unknown, already used or expired. */
export class CallbackTokenError extends HookworkError {
  readonly reason: 'unknown' | 'used' | 'expired';
  constructor(reason: 'unknown' | 'used' | 'expired') {
    const text = {
      unknown: 'This callback URL is not known (wrong token, or the gateway restarted since it was issued).',
      used: 'This callback URL was already used; each callback URL works once.',
      expired: 'This callback URL has expired (see the config\'s "callbacks.ttl").',
    }[reason];
    super(reason === 'unknown' ? 'HKW_ERR_CALLBACK_UNKNOWN' : reason === 'used' ? 'HKW_ERR_CALLBACK_USED' : 'HKW_ERR_CALLBACK_EXPIRED', text, reason === 'unknown' ? 404 : 410);
    this.reason = reason;
  }
}

/** No delivery has this id (it never existed, or retention purged it). */
export class DeliveryNotFoundError extends HookworkError {
  readonly deliveryId: string;
  constructor(deliveryId: string) {
    super(
      'HKW_ERR_DELIVERY_NOT_FOUND',
      `No delivery has the id "${deliveryId}". List deliveries with "hookwork deliveries list" or GET /v1/deliveries; finished ones are purged after the retention time.`,
      404,
    );
    this.deliveryId = deliveryId;
  }
}

/**
 * retry() of a delivery in flight: a node is attempting it right now, so
 * there is nothing to retry yet (HTTP 409).
 */
export class DeliveryInflightError extends HookworkError {
  readonly deliveryId: string;
  constructor(deliveryId: string) {
    super(
      'HKW_ERR_DELIVERY_INFLIGHT',
      `Delivery "${deliveryId}" is in flight: a node is attempting it right now, so it was not retried. Wait for the attempt to end (the delivery becomes done, pending for its next attempt, or failed; a node that died gives it up when its lease ends), then retry it if it still needs it.`,
      409,
    );
    this.deliveryId = deliveryId;
  }
}

/** The thread that sends webhook requests stopped with requests in flight: their attempts fail, retryably, and the next request starts a new thread. */
export class SenderThreadError extends HookworkError {
  constructor(detail: string, options?: ErrorOptions) {
    super('HKW_ERR_SENDER_THREAD', `The webhook sender thread stopped (${detail}) while the request was in flight; the attempt failed (the delivery queue tries it again) and the next request starts a new thread.`, 503, options);
  }
}

/** The delivery store could not be opened, migrated or used. */
export class DeliveryStoreError extends HookworkError {
  /** Set when the store is unavailable for now (see src/delivery/store-faults.ts): callers retry later. */
  readonly fault: 'unavailable' | 'disk-full' | undefined;
  /** Seconds the gateway asks a caller to wait (its Retry-After header). */
  readonly retryAfter: number;
  constructor(message: string, options?: ErrorOptions & { fault?: 'unavailable' | 'disk-full' }) {
    super('HKW_ERR_DELIVERY_STORE', message, 503, options);
    this.fault = options?.fault;
    this.retryAfter = options?.fault === 'disk-full' ? 30 : 2;
  }
}

/** No plugin of that name was found in the plugins folder. */
export class PluginNotFoundError extends HookworkError {
  readonly plugin: string;
  constructor(plugin: string, folder: string, known: readonly string[]) {
    const list = known.length > 0 ? ` Known plugins: ${known.join(', ')}.` : ' No plugins were found there.';
    super(
      'HKW_ERR_PLUGIN_NOT_FOUND',
      `No plugin named "${plugin}" in the plugins folder ${folder}.${list} Check the name in "plugins.active" or add the plugin's file to the folder.`,
      404,
    );
    this.plugin = plugin;
  }
}

/** A plugin module's export is not a plugin definition, or clashes with another plugin. */
export class PluginDefinitionError extends HookworkError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super('HKW_ERR_PLUGIN_INVALID', `The plugin in ${file} is invalid: ${problem}`, 400);
    this.file = file;
  }
}

/** A plugin needs one that is missing, failed, or needs it back (a cycle). */
export class PluginDependencyError extends HookworkError {
  readonly plugin: string;
  constructor(plugin: string, problem: string) {
    super('HKW_ERR_PLUGIN_DEPENDENCY', `The plugin "${plugin}" cannot load: ${problem}`, 409);
    this.plugin = plugin;
  }
}

/** A plugin's setup or start threw or timed out; it is marked failed and its registrations are gone. */
export class PluginStartError extends HookworkError {
  readonly plugin: string;
  constructor(plugin: string, cause: Error) {
    super(
      'HKW_ERR_PLUGIN_START_FAILED',
      `The plugin "${plugin}" failed to start: ${cause.message} Everything it registered was removed; fix it and load it again.`,
      500,
      { cause },
    );
    this.plugin = plugin;
  }
}

/** A plugin registered the same route twice. */
export class PluginRouteConflictError extends HookworkError {
  constructor(plugin: string, method: string, path: string) {
    super(
      'HKW_ERR_PLUGIN_ROUTE_CONFLICT',
      `The plugin "${plugin}" already has a route ${method} ${path}; dispose the first one before registering it again.`,
      409,
    );
  }
}

/** An extension handler's module or class could not be loaded. */
export class ExtensionLoadError extends HookworkError {
  constructor(handler: string, entryPoint: string, reason: string, options?: ErrorOptions) {
    super(
      'HKW_ERR_EXTENSION_LOAD',
      `Extension handler "${handler}" could not load entry point "${entryPoint}": ${reason}. Check entry_point (module/path.ts#ExportName, relative to the extensions folder).`,
      500,
      options,
    );
  }
}

/** A pool worker died while handling an event (crash, exit, out of memory); it was replaced. */
export class ExtensionWorkerCrashError extends HookworkError {
  readonly reason: 'crash' | 'oom';
  constructor(reason: 'crash' | 'oom', detail: string, options?: ErrorOptions) {
    super(
      'HKW_ERR_EXTENSION_WORKER_CRASH',
      reason === 'oom'
        ? `The worker ran out of memory (${detail}); it was replaced. Raise extensions.pool.resource_limits or make handle() use less memory.`
        : `The worker died while handling the event (${detail}); it was replaced.`,
      500,
      options,
    );
    this.reason = reason;
  }
}

/** An extension process (a Python handler's main process or pool worker) could not start, broke the protocol, or exited. */
export class ExtensionProcessError extends HookworkError {
  constructor(what: string, detail: string, options?: ErrorOptions) {
    super(
      'HKW_ERR_EXTENSION_PROCESS',
      `${what}: ${detail}. Check the interpreter (extensions.python, python3 on the PATH) and the handler's log lines; docs/extension-protocol.md describes what the process must say.`,
      500,
      options,
    );
  }
}

/** An extension's getConfiguration or handle returned something the contract does not allow. */
export class ExtensionResultError extends HookworkError {
  constructor(message: string) {
    super('HKW_ERR_EXTENSION_RESULT', message, 500);
  }
}

/** The extension pool's queue is full (extensions.pool.max_queue). */
export class ExtensionQueueFullError extends HookworkError {
  constructor(maxQueue: number | undefined) {
    super(
      'HKW_ERR_EXTENSION_QUEUE_FULL',
      `The extension queue is full (max_queue ${maxQueue ?? 'reached'}); the event was not handled. Raise extensions.pool.max_queue or pool.size.`,
      503,
    );
  }
}

/** A plugin module is already running in this process (one instance per plugin per process, as in LUNA). */
export class PluginAlreadyRunningError extends HookworkError {
  readonly plugin: string;
  constructor(plugin: string, file: string, owner: string) {
    super(
      'HKW_ERR_PLUGIN_ALREADY_RUNNING',
      `The plugin "${plugin}" (${file}) is already running in this process under ${owner}; a plugin runs once per process. Unload it there first.`,
      409,
    );
    this.plugin = plugin;
  }
}

/**
 * A request body sent as JSON is empty or not JSON. The codes are fastify's,
 * kept from before the gateway parsed JSON itself (clients rely on them).
 */
export class InvalidJsonBodyError extends HookworkError {
  constructor(code: 'FST_ERR_CTP_INVALID_JSON_BODY' | 'FST_ERR_CTP_EMPTY_JSON_BODY', message: string) {
    super(code, message, 400);
  }
}

/** A JSON request body nests arrays/objects deeper than the gateway allows (server.json_max_depth). */
export class JsonTooDeepError extends HookworkError {
  readonly maxDepth: number;
  constructor(maxDepth: number) {
    super(
      'HKW_ERR_JSON_TOO_DEEP',
      `The JSON body nests arrays or objects more than ${maxDepth} levels deep, the gateway's limit (server.json_max_depth). Send a flatter body, or raise server.json_max_depth.`,
      400,
    );
    this.maxDepth = maxDepth;
  }
}

/**
 * A JSON request body has a key that could change an object's prototype
 * (`__proto__`, or `constructor` holding `prototype`), at `where` (e.g. `body.data.__proto__`).
 */
export class JsonProtoPoisoningError extends HookworkError {
  readonly where: string;
  constructor(where: string) {
    super(
      'HKW_ERR_PROTO_POISONING',
      `The JSON body has the key ${where}, which could change an object's prototype ("__proto__", or "constructor" holding "prototype"); such bodies are refused. Rename the key.`,
      400,
    );
    this.where = where;
  }
}

/** The HTTP request itself could not be read (malformed request line or headers, headers too large, too slow). */
export class BadHttpRequestError extends HookworkError {
  constructor(kind: 'malformed' | 'headers-too-large' | 'timeout') {
    const [code, status, message] =
      kind === 'headers-too-large'
        ? (['HKW_ERR_HEADERS_TOO_LARGE', 431, 'The request headers are larger than the server accepts (Node\'s --max-http-header-size, 16 KiB by default); send fewer or smaller headers.'] as const)
        : kind === 'timeout'
          ? (['HKW_ERR_REQUEST_TIMEOUT', 408, 'The request was not received completely in time; send it again.'] as const)
          : (['HKW_ERR_BAD_REQUEST', 400, 'The request is not valid HTTP/1.1 (malformed request line, header or body framing); it was not processed.'] as const);
    super(code, message, status);
  }
}

/** POST /v1/actions/:name/… named an action nobody declared (and auto-declaring is off). */
export class UnknownActionError extends HookworkError {
  readonly action: string;
  constructor(action: string) {
    super(
      'HKW_ERR_UNKNOWN_ACTION',
      `No action named "${action}" is declared. Declare it in the config (actions.options.${action}, actions.execute_sync, a catalogue event named "${action}", or a handler's actions: [pre-${action}]) or on the host, or let the gateway declare actions on first use with actions.auto_declare: true.`,
      404,
    );
    this.action = action;
  }
}

/** actions.auto_declare is on and the gateway already declared actions.auto_declare_max actions. */
export class ActionAutoDeclareLimitError extends HookworkError {
  readonly action: string;
  constructor(action: string, max: number) {
    super(
      'HKW_ERR_ACTION_LIMIT',
      `The action "${action}" is not declared and the gateway already declared ${max} actions on first use (actions.auto_declare_max); it was not declared. Declare the actions you use in the config (actions.options), or raise actions.auto_declare_max.`,
      409,
    );
    this.action = action;
  }
}

/** A delivery target admin call named a target no configuration, registration or stored delivery knows. */
export class TargetNotFoundError extends HookworkError {
  readonly target: string;
  constructor(target: string) {
    super(
      'HKW_ERR_TARGET_NOT_FOUND',
      `No delivery target is named ${JSON.stringify(target)}: none is registered on this gateway, and the delivery store has no deliveries or disabled state for it. List targets with GET /v1/deliveries/depth; names look like "webhook:<name>" or "handler:<name>".`,
      404,
    );
    this.target = target;
  }
}
