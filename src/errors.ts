// Every error Hookwork throws lives here, with a stable code (`HKW_ERR_*`)
// that callers and the gateway can rely on. Messages say what was wrong,
// where, and how to fix it.
//
// ERROR_CODES is the one catalogue: every code Hookwork throws or sends over
// HTTP, with its status. An error class passes its code to CataloguedError,
// whose parameter is typed by the table, so a class whose code has no entry
// does not compile; test/errors.test.ts checks that docs/errors.md lists
// exactly the table's codes and that src/ uses no code outside it.

/** Every code Hookwork throws or sends, with its HTTP status and what it means (docs/errors.md explains each). */
export const ERROR_CODES = Object.freeze({
  // Requests the gateway could not read or refuses before a route runs.
  HKW_ERR_BAD_REQUEST: { status: 400, summary: 'The request is not valid HTTP, or could not be read (a refusal that carried another 4xx status keeps it).' },
  HKW_ERR_REQUEST_TIMEOUT: { status: 408, summary: 'The request did not arrive completely in time.' },
  HKW_ERR_HEADERS_TOO_LARGE: { status: 431, summary: 'The request headers are larger than the server accepts.' },
  HKW_ERR_NOT_FOUND: { status: 404, summary: 'No route serves this method and path.' },
  HKW_ERR_UNAUTHENTICATED: { status: 401, summary: 'No bearer token, or one the config does not know.' },
  HKW_ERR_FORBIDDEN: { status: 403, summary: "The token's role is below the one the endpoint needs." },
  HKW_ERR_UI_NOT_BUILT: { status: 503, summary: 'The console is served but its files (dist/ui) were not built.' },
  HKW_ERR_CSRF: { status: 403, summary: 'A state-changing request made with a console session cookie lacks its X-CSRF-Token.' },
  HKW_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'A host-facing endpoint got a body that is not JSON.' },
  HKW_ERR_JSON_TOO_DEEP: { status: 400, summary: 'The JSON body nests deeper than server.json_max_depth.' },
  HKW_ERR_PROTO_POISONING: { status: 400, summary: 'The JSON body has a key that could change a prototype.' },
  HKW_ERR_INVALID_INPUT: { status: 400, summary: 'Input failed validation; `fields` names each bad field.' },
  HKW_ERR_INTERNAL: { status: 500, summary: 'An unexpected failure; the details are in the gateway log.' },
  // fastify's codes, kept because clients relied on them before Hookwork caught them.
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, summary: 'A body sent as application/json is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, summary: 'A body sent as application/json is not JSON.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, summary: 'The body size does not match Content-Length.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, summary: 'The body is larger than server.body_limit.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, summary: 'No parser for the body\'s content type.' },
  FST_ERR_BAD_URL: { status: 400, summary: 'The path is not valid percent-encoding.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, summary: 'A path parameter is longer than 100 characters.' },
  // Events and hooks.
  HKW_ERR_UNKNOWN_EVENT: { status: 400, summary: 'The event id is not in the catalogue.' },
  HKW_ERR_INVALID_EVENT_DATA: { status: 400, summary: "The event's data does not match its schema." },
  HKW_ERR_UNKNOWN_HOOK_POINT: { status: 404, summary: 'No gate, change point or method of that name is declared.' },
  HKW_ERR_HOOK_POINT_CONFLICT: { status: 409, summary: 'A hook point was declared twice with different options.' },
  HKW_ERR_EXCLUSIVE_HOOK_TAKEN: { status: 409, summary: 'Another holder already has the exclusive change point.' },
  HKW_ERR_CHANGE_BLOCKED: { status: 409, summary: 'A change hook blocked the change.' },
  HKW_ERR_PERMISSION_DENIED: { status: 403, summary: 'A gate denied, or middleware refused.' },
  HKW_ERR_TIMEOUT: { status: 504, summary: 'Something took longer than its limit.' },
  HKW_ERR_ABORTED: { status: 503, summary: 'The work was cancelled before it finished.' },
  HKW_ERR_CLOSED: { status: 503, summary: 'The host or a component was used after close().' },
  HKW_ERR_INVALID_ARGUMENT: { status: 400, summary: 'A public API got an argument of the wrong shape.' },
  // Config.
  HKW_ERR_CONFIG_INVALID: { status: 400, summary: 'The config was refused; `problems` lists every problem.' },
  HKW_ERR_CONFIG_DRAFT_INVALID: { status: 422, summary: 'A config draft sent to apply was refused; `problems` lists every problem with its key.' },
  HKW_ERR_CONFIG_NOT_WRITABLE: { status: 409, summary: 'The config did not come from one file the gateway can rewrite (a folder, the embedded default, or a config object).' },
  // Actions.
  HKW_ERR_UNKNOWN_ACTION: { status: 404, summary: 'No action of that name is declared.' },
  HKW_ERR_ACTION_LIMIT: { status: 409, summary: 'actions.auto_declare_max actions were already declared on first use.' },
  HKW_ERR_ACTION_HOOK_FAILED: { status: 502, summary: "A synchronous post hook of the action failed." },
  HKW_ERR_QUOTA_EXCEEDED: { status: 413, summary: "The action's operation ran out of quota." },
  // Webhooks, callbacks and outbound HTTP.
  HKW_ERR_SSRF_REFUSED: { status: 403, summary: 'The webhook URL resolved to an address the SSRF guard refuses.' },
  HKW_ERR_SENDER_THREAD: { status: 503, summary: 'The webhook sender thread stopped with the request in flight.' },
  HKW_ERR_TEST_SEND_EVENT: { status: 400, summary: 'A test send names no event and its target follows none the catalogue knows.' },
  HKW_ERR_SECRET_ROTATION: { status: 409, summary: 'A signing secret cannot be rotated: the target is not a webhook, or it signs with no secret.' },
  HKW_ERR_CALLBACK_UNKNOWN: { status: 404, summary: 'The callback URL is not known.' },
  HKW_ERR_CALLBACK_USED: { status: 410, summary: 'The callback URL was already used.' },
  HKW_ERR_CALLBACK_EXPIRED: { status: 410, summary: 'The callback URL has expired.' },
  // The delivery queue.
  HKW_ERR_DELIVERY_NOT_FOUND: { status: 404, summary: 'No delivery has this id.' },
  HKW_ERR_DELIVERY_INFLIGHT: { status: 409, summary: 'The delivery is being attempted right now.' },
  HKW_ERR_DELIVERY_STORE: { status: 503, summary: 'The delivery store cannot serve now; retry after Retry-After.' },
  HKW_ERR_TARGET_NOT_FOUND: { status: 404, summary: 'No delivery target has that name.' },
  HKW_ERR_EXTENSION_PROCESS: { status: 500, summary: 'An extension handler process could not start, or broke the protocol.' },
  HKW_ERR_HANDLER_NOT_FOUND: { status: 404, summary: 'No extension handler has that name or uuid.' },
  HKW_ERR_IDEMPOTENCY_CONFLICT: { status: 409, summary: 'The idempotency key was used before with a different event or input.' },
  HKW_ERR_BACKPRESSURE: { status: 503, summary: 'The delivery queue holds delivery.max_pending (or the target its max_pending) deliveries; retry after Retry-After.' },
  HKW_ERR_DELIVERY_BODY_NOT_KEPT: { status: 409, summary: 'The delivery succeeded and its body was not kept, so it cannot be sent again.' },
  // Schedules.
  HKW_ERR_SCHEDULE_NOT_FOUND: { status: 404, summary: 'No schedule of the config has that name.' },
  // Plugins.
  HKW_ERR_PLUGIN: { status: 500, summary: "A plugin's setup, start or stop threw an error that has no Hookwork code." },
  HKW_ERR_PLUGIN_NOT_FOUND: { status: 404, summary: 'No plugin of that name is in the plugins folder.' },
  HKW_ERR_PLUGIN_INVALID: { status: 400, summary: "The plugin's module does not export a valid plugin." },
  HKW_ERR_PLUGIN_DEPENDENCY: { status: 409, summary: 'A plugin it needs is missing, failed, or needs it back.' },
  HKW_ERR_PLUGIN_START_FAILED: { status: 500, summary: "The plugin's setup or start threw or timed out." },
  HKW_ERR_PLUGIN_ROUTE_CONFLICT: { status: 409, summary: 'The plugin registered the same route twice.' },
  HKW_ERR_PLUGIN_ALREADY_RUNNING: { status: 409, summary: 'The plugin module already runs in this process.' },
  // Extension handlers.
  HKW_ERR_EXTENSION_LOAD: { status: 500, summary: "The extension handler's module or class could not be loaded." },
  HKW_ERR_EXTENSION_WORKER_CRASH: { status: 500, summary: 'A pool worker died while handling an event.' },
  HKW_ERR_EXTENSION_RESULT: { status: 500, summary: 'getConfiguration or handle returned what the contract does not allow.' },
  HKW_ERR_EXTENSION_QUEUE_FULL: { status: 503, summary: "The extension pool's queue is full." },
} as const satisfies Record<string, { readonly status: number; readonly summary: string }>);

/** A code of Hookwork's own (a key of ERROR_CODES). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `code` is one of Hookwork's codes (in ERROR_CODES). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

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

/**
 * Base of Hookwork's own errors: the code must be in ERROR_CODES, and the
 * HTTP status is the table's, so a code always has the same status.
 * (HookworkError itself stays open to plugins' own codes and statuses.)
 */
export class CataloguedError extends HookworkError {
  declare readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions, statusCode: number = ERROR_CODES[code].status) {
    super(code, message, statusCode, options);
  }
}

/** An id was emitted that the catalogue does not declare. */
export class UnknownEventError extends CataloguedError {
  readonly eventId: string;
  constructor(eventId: string) {
    super(
      'HKW_ERR_UNKNOWN_EVENT',
      `Event id "${eventId}" is not in the event catalogue. Declare it with host.catalogue.declare({ id: "${eventId}", ... }) or in the config's "events" list, or turn strict mode off.`,
    );
    this.eventId = eventId;
  }
}

/** An event's data did not match its catalogue schema. */
export class InvalidEventDataError extends CataloguedError {
  readonly eventId: string;
  readonly problems: readonly string[];
  constructor(eventId: string, problems: readonly string[]) {
    super(
      'HKW_ERR_INVALID_EVENT_DATA',
      `Data for event "${eventId}" does not match its schema: ${problems.join('; ')}`,
    );
    this.eventId = eventId;
    this.problems = problems;
  }
}

/** A hook point (gate, change point, method) was used before it was declared. */
export class UnknownHookPointError extends CataloguedError {
  constructor(kind: 'gate' | 'change point' | 'method', name: string, known: readonly string[]) {
    const list = known.length > 0 ? ` Known ${kind}s: ${known.join(', ')}.` : '';
    super(
      'HKW_ERR_UNKNOWN_HOOK_POINT',
      `No ${kind} named "${name}" is declared.${list} Declare it on the host or in the config.`,
    );
  }
}

/** A hook point was declared twice with different options. */
export class HookPointConflictError extends CataloguedError {
  constructor(kind: string, name: string, detail: string) {
    super('HKW_ERR_HOOK_POINT_CONFLICT', `The ${kind} "${name}" ${detail}`);
  }
}

/** A second holder tried to take an exclusive change point (UCS's rule). */
export class ExclusiveHookTakenError extends CataloguedError {
  readonly point: string;
  readonly holder: string;
  constructor(point: string, holder: string, requester: string) {
    super(
      'HKW_ERR_EXCLUSIVE_HOOK_TAKEN',
      `The exclusive change point "${point}" is already held by "${holder}"; "${requester}" cannot register on it until "${holder}" releases it (unloads or disposes its hook).`,
    );
    this.point = point;
    this.holder = holder;
  }
}

/**
 * Thrown by a change hook to block the change (UCS's ProcessingError).
 * The reason defaults to "Blocked by hook".
 */
export class ChangeBlockedError extends CataloguedError {
  readonly reason: string;
  constructor(reason?: string) {
    const why = reason !== undefined && reason !== '' ? reason : 'Blocked by hook';
    super('HKW_ERR_CHANGE_BLOCKED', why);
    this.reason = why;
  }
}

/** The caller may not do this: a gate denied, or middleware refused. */
export class PermissionDeniedError extends CataloguedError {
  readonly reason: string;
  constructor(reason: string, options?: ErrorOptions) {
    super('HKW_ERR_PERMISSION_DENIED', reason, options);
    this.reason = reason;
  }
}

/** Input failed validation; `fields` maps each bad field to its problem (UCS's InvalidDataInput). */
export class InvalidInputError extends CataloguedError {
  readonly fields: Readonly<Record<string, string>>;
  constructor(fields: Record<string, string>, message?: string) {
    const summary = Object.entries(fields)
      .map(([field, problem]) => `${field}: ${problem}`)
      .join('; ');
    super('HKW_ERR_INVALID_INPUT', message ?? `Invalid input: ${summary}`);
    this.fields = Object.freeze({ ...fields });
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, fields: this.fields };
  }
}

/** Something took longer than its limit. */
export class HookTimeoutError extends CataloguedError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super('HKW_ERR_TIMEOUT', `${what} did not finish within ${timeoutMs} ms.`);
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

/** POST /v1/config/apply got a draft that does not load; nothing was written. */
export class ConfigDraftError extends CataloguedError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(
      'HKW_ERR_CONFIG_DRAFT_INVALID',
      `The config draft was refused (${problems.length} problem${problems.length === 1 ? '' : 's'}); the file in force was not changed. Fix each problem (POST /v1/config/validate lists them) and apply again.`,
    );
    this.problems = problems;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, problems: this.problems };
  }
}

/** The config cannot be edited over the API: it did not come from one file. */
export class ConfigNotWritableError extends CataloguedError {
  constructor(why: string) {
    super(
      'HKW_ERR_CONFIG_NOT_WRITABLE',
      `The config cannot be applied from a draft: ${why}. Start the gateway with "hookwork serve --config <file>" (one .yaml or .json file) to edit it here, or edit the files and reload.`,
    );
  }
}

/** A config was refused as a whole; `problems` lists every problem found. */
export class ConfigError extends CataloguedError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map(formatConfigProblem);
    super(
      'HKW_ERR_CONFIG_INVALID',
      `The config was refused (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.map((l) => `  - ${l}`).join('\n')}`,
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
export class ClosedError extends CataloguedError {
  constructor(what: string) {
    super('HKW_ERR_CLOSED', `${what} is closed; create a new one.`);
  }
}

/** The gateway was asked about an extension handler the config does not have. */
export class HandlerNotFoundError extends CataloguedError {
  constructor(name: string, known: readonly string[]) {
    super(
      'HKW_ERR_HANDLER_NOT_FOUND',
      `No extension handler "${name}" is configured (known: ${known.join(', ') || 'none'}). List them with GET /v1/handlers or "hookwork handlers list".`,
    );
  }
}

/** A caller passed an argument of the wrong shape to a public API. */
export class InvalidArgumentError extends CataloguedError {
  constructor(message: string) {
    super('HKW_ERR_INVALID_ARGUMENT', message);
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
export class SsrfRefusedError extends CataloguedError {
  readonly url: string;
  readonly address: string;
  readonly rule: string;
  constructor(url: string, address: string, rule: string) {
    super(
      'HKW_ERR_SSRF_REFUSED',
      `Refused to connect to ${url}: address ${address} is ${rule}. If this target is trusted, add a CIDR that covers it to the config's "ssrf.allow" list.`,
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
export class QuotaExceededError extends CataloguedError {
  constructor(message = 'Quota exceeded') {
    super('HKW_ERR_QUOTA_EXCEEDED', message);
  }
}

/** A synchronous post hook of an action failed; the operation ran and the host was asked to undo it. */
export class ActionHookFailedError extends CataloguedError {
  readonly action: string;
  readonly failures: readonly string[];
  constructor(action: string, failures: readonly string[]) {
    super(
      'HKW_ERR_ACTION_HOOK_FAILED',
      `The synchronous post hook${failures.length === 1 ? '' : 's'} of action "${action}" failed: ${failures.join('; ')}`,
    );
    this.action = action;
    this.failures = failures;
  }
}

/** A callback URL's token is unknown, already used or expired. */
export class CallbackTokenError extends CataloguedError {
  readonly reason: 'unknown' | 'used' | 'expired';
  constructor(reason: 'unknown' | 'used' | 'expired') {
    const text = {
      unknown: 'This callback URL is not known (wrong token, or the gateway restarted since it was issued).',
      used: 'This callback URL was already used; each callback URL works once.',
      expired: 'This callback URL has expired (see the config\'s "callbacks.ttl").',
    }[reason];
    super(reason === 'unknown' ? 'HKW_ERR_CALLBACK_UNKNOWN' : reason === 'used' ? 'HKW_ERR_CALLBACK_USED' : 'HKW_ERR_CALLBACK_EXPIRED', text);
    this.reason = reason;
  }
}

/** No delivery has this id (it never existed, or retention purged it). */
export class DeliveryNotFoundError extends CataloguedError {
  readonly deliveryId: string;
  constructor(deliveryId: string) {
    super(
      'HKW_ERR_DELIVERY_NOT_FOUND',
      `No delivery has the id "${deliveryId}". List deliveries with "hookwork deliveries list" or GET /v1/deliveries; finished ones are purged after the retention time.`,
    );
    this.deliveryId = deliveryId;
  }
}

/**
 * retry() of a delivery in flight: a node is attempting it right now, so
 * there is nothing to retry yet (HTTP 409).
 */
export class DeliveryInflightError extends CataloguedError {
  readonly deliveryId: string;
  constructor(deliveryId: string) {
    super(
      'HKW_ERR_DELIVERY_INFLIGHT',
      `Delivery "${deliveryId}" is in flight: a node is attempting it right now, so it was not retried. Wait for the attempt to end (the delivery becomes done, pending for its next attempt, or failed; a node that died gives it up when its lease ends), then retry it if it still needs it.`,
    );
    this.deliveryId = deliveryId;
  }
}

/** A done delivery whose event body was not kept (`delivery.keep_done_body: none`) cannot be sent again. */
export class DeliveryBodyNotKeptError extends CataloguedError {
  readonly deliveryId: string;
  constructor(deliveryId: string) {
    super(
      'HKW_ERR_DELIVERY_BODY_NOT_KEPT',
      `Delivery "${deliveryId}" succeeded and its event body was not kept ("delivery.keep_done_body: none"), so it cannot be retried or replayed: there is nothing to send. Emit the event again, or set "delivery.keep_done_body" to "full" or "compressed" to keep bodies of future deliveries.`,
    );
    this.deliveryId = deliveryId;
  }
}

/** The thread that sends webhook requests stopped with requests in flight: their attempts fail, retryably, and the next request starts a new thread. */
export class SenderThreadError extends CataloguedError {
  constructor(detail: string, options?: ErrorOptions) {
    super('HKW_ERR_SENDER_THREAD', `The webhook sender thread stopped (${detail}) while the request was in flight; the attempt failed (the delivery queue tries it again) and the next request starts a new thread.`, options);
  }
}

/** The delivery store could not be opened, migrated or used. */
export class DeliveryStoreError extends CataloguedError {
  /** Set when the store is unavailable for now (see src/delivery/store-faults.ts): callers retry later. */
  readonly fault: 'unavailable' | 'disk-full' | undefined;
  /** Seconds the gateway asks a caller to wait (its Retry-After header). */
  readonly retryAfter: number;
  constructor(message: string, options?: ErrorOptions & { fault?: 'unavailable' | 'disk-full' }) {
    super('HKW_ERR_DELIVERY_STORE', message, options);
    this.fault = options?.fault;
    this.retryAfter = options?.fault === 'disk-full' ? 30 : 2;
  }
}

/** An idempotency key came back with another event id or input than the emit that first used it. */
export class IdempotencyConflictError extends CataloguedError {
  readonly key: string;
  constructor(key: string) {
    super(
      'HKW_ERR_IDEMPOTENCY_CONFLICT',
      `The idempotency key "${key}" was already used for a different event or input within the idempotency window; use a new key for a new event, or send the first request's body unchanged to get its answer again.`,
    );
    this.key = key;
  }
}

/**
 * The delivery queue is full (delivery.max_pending in all, or a target's
 * max_pending): nothing of the emit was accepted; send it again later.
 */
export class BackpressureError extends CataloguedError {
  /** The target whose bound was reached, or undefined for delivery.max_pending. */
  readonly target: string | undefined;
  /** Seconds the gateway asks a caller to wait (its Retry-After header). */
  readonly retryAfter: number;
  constructor(target: string | undefined, limit: number, retryAfter: number) {
    super(
      'HKW_ERR_BACKPRESSURE',
      target === undefined
        ? `The delivery queue holds its limit of ${limit} pending deliveries (delivery.max_pending); nothing was accepted. Send the event again after ${retryAfter} s, or raise delivery.max_pending.`
        : `The target "${target}" has its limit of ${limit} pending deliveries (its max_pending); nothing was accepted. Send the event again after ${retryAfter} s, check the target is up and enabled, or raise its max_pending.`,
    );
    this.target = target;
    this.retryAfter = retryAfter;
  }
}

/** No plugin of that name was found in the plugins folder. */
export class PluginNotFoundError extends CataloguedError {
  readonly plugin: string;
  constructor(plugin: string, folder: string, known: readonly string[]) {
    const list = known.length > 0 ? ` Known plugins: ${known.join(', ')}.` : ' No plugins were found there.';
    super(
      'HKW_ERR_PLUGIN_NOT_FOUND',
      `No plugin named "${plugin}" in the plugins folder ${folder}.${list} Check the name in "plugins.active" or add the plugin's file to the folder.`,
    );
    this.plugin = plugin;
  }
}

/** A plugin module's export is not a plugin definition, or clashes with another plugin. */
export class PluginDefinitionError extends CataloguedError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super('HKW_ERR_PLUGIN_INVALID', `The plugin in ${file} is invalid: ${problem}`);
    this.file = file;
  }
}

/** A plugin needs one that is missing, failed, or needs it back (a cycle). */
export class PluginDependencyError extends CataloguedError {
  readonly plugin: string;
  constructor(plugin: string, problem: string) {
    super('HKW_ERR_PLUGIN_DEPENDENCY', `The plugin "${plugin}" cannot load: ${problem}`);
    this.plugin = plugin;
  }
}

/** A plugin's setup or start threw or timed out; it is marked failed and its registrations are gone. */
export class PluginStartError extends CataloguedError {
  readonly plugin: string;
  constructor(plugin: string, cause: Error) {
    super(
      'HKW_ERR_PLUGIN_START_FAILED',
      `The plugin "${plugin}" failed to start: ${cause.message} Everything it registered was removed; fix it and load it again.`,
      { cause },
    );
    this.plugin = plugin;
  }
}

/** A plugin registered the same route twice. */
export class PluginRouteConflictError extends CataloguedError {
  constructor(plugin: string, method: string, path: string) {
    super(
      'HKW_ERR_PLUGIN_ROUTE_CONFLICT',
      `The plugin "${plugin}" already has a route ${method} ${path}; dispose the first one before registering it again.`,
    );
  }
}

/** An extension handler's module or class could not be loaded. */
export class ExtensionLoadError extends CataloguedError {
  constructor(handler: string, entryPoint: string, reason: string, options?: ErrorOptions) {
    super(
      'HKW_ERR_EXTENSION_LOAD',
      `Extension handler "${handler}" could not load entry point "${entryPoint}": ${reason}. Check entry_point (module/path.ts#ExportName, relative to the extensions folder).`,
      options,
    );
  }
}

/** A pool worker died while handling an event (crash, exit, out of memory); a new worker takes the next event. */
export class ExtensionWorkerCrashError extends CataloguedError {
  readonly reason: 'crash' | 'oom';
  constructor(reason: 'crash' | 'oom', detail: string, options?: ErrorOptions) {
    super(
      'HKW_ERR_EXTENSION_WORKER_CRASH',
      reason === 'oom'
        ? `The worker ran out of memory (${detail}); a new worker takes the next event. Raise extensions.pool.resource_limits or make handle() use less memory.`
        : `The worker died while handling the event (${detail}); a new worker takes the next event.`,
      options,
    );
    this.reason = reason;
  }
}

/** An extension process (a Python handler's main process or pool worker) could not start, broke the protocol, or exited. */
export class ExtensionProcessError extends CataloguedError {
  constructor(what: string, detail: string, options?: ErrorOptions) {
    super(
      'HKW_ERR_EXTENSION_PROCESS',
      `${what}: ${detail}. Check the interpreter (extensions.python, python3 on the PATH) and the handler's log lines; docs/extension-protocol.md describes what the process must say.`,
      options,
    );
  }
}

/** An extension's getConfiguration or handle returned something the contract does not allow. */
export class ExtensionResultError extends CataloguedError {
  constructor(message: string) {
    super('HKW_ERR_EXTENSION_RESULT', message);
  }
}

/** The extension pool's queue is full (extensions.pool.max_queue). */
export class ExtensionQueueFullError extends CataloguedError {
  constructor(maxQueue: number | undefined) {
    super(
      'HKW_ERR_EXTENSION_QUEUE_FULL',
      `The extension queue is full (max_queue ${maxQueue ?? 'reached'}); the event was not handled. Raise extensions.pool.max_queue or pool.size.`,
    );
  }
}

/** A plugin module is already running in this process (one instance per plugin per process, as in LUNA). */
export class PluginAlreadyRunningError extends CataloguedError {
  readonly plugin: string;
  constructor(plugin: string, file: string, owner: string) {
    super(
      'HKW_ERR_PLUGIN_ALREADY_RUNNING',
      `The plugin "${plugin}" (${file}) is already running in this process under ${owner}; a plugin runs once per process. Unload it there first.`,
    );
    this.plugin = plugin;
  }
}

/**
 * A request body sent as JSON is empty or not JSON. The codes are fastify's,
 * kept from before the gateway parsed JSON itself (clients rely on them).
 */
export class InvalidJsonBodyError extends CataloguedError {
  constructor(code: Extract<FrameworkErrorCode, 'FST_ERR_CTP_INVALID_JSON_BODY' | 'FST_ERR_CTP_EMPTY_JSON_BODY'>, message: string) {
    super(code, message);
  }
}

/** A JSON request body nests arrays/objects deeper than the gateway allows (server.json_max_depth). */
export class JsonTooDeepError extends CataloguedError {
  readonly maxDepth: number;
  constructor(maxDepth: number) {
    super(
      'HKW_ERR_JSON_TOO_DEEP',
      `The JSON body nests arrays or objects more than ${maxDepth} levels deep, the gateway's limit (server.json_max_depth). Send a flatter body, or raise server.json_max_depth.`,
    );
    this.maxDepth = maxDepth;
  }
}

/**
 * A JSON request body has a key that could change an object's prototype
 * (`__proto__`, or `constructor` holding `prototype`), at `where` (e.g. `body.data.__proto__`).
 */
export class JsonProtoPoisoningError extends CataloguedError {
  readonly where: string;
  constructor(where: string) {
    super(
      'HKW_ERR_PROTO_POISONING',
      `The JSON body has the key ${where}, which could change an object's prototype ("__proto__", or "constructor" holding "prototype"); such bodies are refused. Rename the key.`,
    );
    this.where = where;
  }
}

/** The HTTP request itself could not be read (malformed request line or headers, headers too large, too slow). */
export class BadHttpRequestError extends CataloguedError {
  constructor(kind: 'malformed' | 'headers-too-large' | 'timeout') {
    const [code, message] =
      kind === 'headers-too-large'
        ? (['HKW_ERR_HEADERS_TOO_LARGE', 'The request headers are larger than the server accepts (Node\'s --max-http-header-size, 16 KiB by default); send fewer or smaller headers.'] as const)
        : kind === 'timeout'
          ? (['HKW_ERR_REQUEST_TIMEOUT', 'The request was not received completely in time; send it again.'] as const)
          : (['HKW_ERR_BAD_REQUEST', 'The request is not valid HTTP/1.1 (malformed request line, header or body framing); it was not processed.'] as const);
    super(code, message);
  }
}

/** POST /v1/actions/:name/… named an action nobody declared (and auto-declaring is off). */
export class UnknownActionError extends CataloguedError {
  readonly action: string;
  constructor(action: string) {
    super(
      'HKW_ERR_UNKNOWN_ACTION',
      `No action named "${action}" is declared. Declare it in the config (actions.options.${action}, actions.execute_sync, a catalogue event named "${action}", or a handler's actions: [pre-${action}]) or on the host, or let the gateway declare actions on first use with actions.auto_declare: true.`,
    );
    this.action = action;
  }
}

/** actions.auto_declare is on and the gateway already declared actions.auto_declare_max actions. */
export class ActionAutoDeclareLimitError extends CataloguedError {
  readonly action: string;
  constructor(action: string, max: number) {
    super(
      'HKW_ERR_ACTION_LIMIT',
      `The action "${action}" is not declared and the gateway already declared ${max} actions on first use (actions.auto_declare_max); it was not declared. Declare the actions you use in the config (actions.options), or raise actions.auto_declare_max.`,
    );
    this.action = action;
  }
}

/** A delivery target admin call named a target no configuration, registration or stored delivery knows. */
/** A test send with no event named, for a target whose config follows no catalogued event. */
export class TestSendEventError extends CataloguedError {
  constructor(target: string, why: string) {
    super('HKW_ERR_TEST_SEND_EVENT', `Cannot test "${target}": ${why}. Name the event in the body: {"event": "<id or name>", "data": {…}}.`);
  }
}

/** A signing secret rotation the target cannot take. */
export class SecretRotationError extends CataloguedError {
  constructor(target: string, why: string) {
    super('HKW_ERR_SECRET_ROTATION', `Cannot rotate the signing secret of "${target}": ${why}.`);
  }
}

export class TargetNotFoundError extends CataloguedError {
  readonly target: string;
  constructor(target: string) {
    super(
      'HKW_ERR_TARGET_NOT_FOUND',
      `No delivery target is named ${JSON.stringify(target)}: none is registered on this gateway, and the delivery store has no deliveries or disabled state for it. List targets with GET /v1/deliveries/depth; names look like "webhook:<name>" or "handler:<name>".`,
    );
    this.target = target;
  }
}

/** A schedule admin call named a schedule the config does not have. */
export class ScheduleNotFoundError extends CataloguedError {
  readonly schedule: string;
  constructor(schedule: string) {
    super(
      'HKW_ERR_SCHEDULE_NOT_FOUND',
      `No schedule is named ${JSON.stringify(schedule)} in the config (schedules:). List them with GET /v1/schedules.`,
    );
    this.schedule = schedule;
  }
}

/** No route serves this method and path (or a plugin route is gone). */
export class RouteNotFoundError extends CataloguedError {
  constructor(method: string, url: string, why?: string) {
    super('HKW_ERR_NOT_FOUND', why === undefined ? `No route ${method} ${url}.` : `No route ${method} ${url}: ${why}`);
  }
}

/** POST /v1/callbacks/:token on a gateway whose runtime has no callbacks (no webhook uses {{callback_url}}). */
export class CallbacksUnavailableError extends CataloguedError {
  constructor() {
    super('HKW_ERR_NOT_FOUND', 'Callbacks are not installed on this gateway.');
  }
}

/** A gateway endpoint needs a bearer token: none (or a malformed header) was sent, or the token is not known. */
export class UnauthenticatedError extends CataloguedError {
  readonly reason: 'missing' | 'unknown' | 'session';
  constructor(reason: 'missing' | 'unknown' | 'session') {
    super(
      'HKW_ERR_UNAUTHENTICATED',
      reason === 'missing'
        ? 'This endpoint needs "Authorization: Bearer <token>" with a token from the config\'s auth.tokens.'
        : reason === 'unknown'
          ? 'The bearer token is not known.'
          : 'The console session has expired or was ended (signed out, or its token was rotated); sign in again.',
    );
    this.reason = reason;
  }
}

/** The console's built files are missing (a checkout where `npm run build` did not run). */
export class UiNotBuiltError extends CataloguedError {
  constructor(index: string) {
    super('HKW_ERR_UI_NOT_BUILT', `The console is not built: ${index} is missing. Run "npm run build" in the Hookwork checkout (the npm package ships it built).`);
  }
}

/** A state-changing request authenticated by the session cookie came without the session's CSRF token. */
export class CsrfError extends CataloguedError {
  constructor(method: string, url: string) {
    super(
      'HKW_ERR_CSRF',
      `${method} ${url} was made with a console session cookie but without its CSRF token: send the csrf_token from POST or GET /v1/session in the X-CSRF-Token header.`,
    );
  }
}

/** The bearer token is known, but its role is below the one the endpoint needs. */
export class ForbiddenError extends CataloguedError {
  constructor(token: string, role: string, needed: string) {
    super('HKW_ERR_FORBIDDEN', `The token "${token}" has role "${role}"; this endpoint needs "${needed}" or higher.`);
  }
}

/** A host-facing endpoint got a body that is not JSON. */
export class UnsupportedMediaTypeError extends CataloguedError {
  constructor(method: string, url: string, contentType: string | undefined) {
    super(
      'HKW_ERR_UNSUPPORTED_MEDIA_TYPE',
      `${method} ${url} takes a JSON body; send it with "Content-Type: application/json" (got ${contentType === undefined ? 'no content type' : `"${contentType}"`}).`,
    );
  }
}

/** An unexpected failure behind a gateway request; the real error is logged, never sent. */
export class InternalError extends CataloguedError {
  constructor() {
    super('HKW_ERR_INTERNAL', 'Internal error; see the gateway log.');
  }
}

/**
 * Work stopped by its AbortSignal or a cancel before it finished (an HTTP
 * request, a webhook attempt). Named `AbortError`, as the platform's own
 * aborts are, so `err.name === 'AbortError'` checks hold.
 */
export class AbortedError extends CataloguedError {
  constructor(message = 'The request was aborted.') {
    super('HKW_ERR_ABORTED', message);
    this.name = 'AbortError';
  }
}

/** The codes of fastify's own refusals that the gateway passes on (clients relied on them before). */
export type FrameworkErrorCode = Extract<ErrorCode, `FST_ERR_${string}`>;

/** True when `code` is one of fastify's refusals the gateway passes on. */
export function isFrameworkErrorCode(code: unknown): code is FrameworkErrorCode {
  return isErrorCode(code) && code.startsWith('FST_ERR_');
}

/**
 * fastify refused the request before a route ran (body too large, no parser
 * for its content type, a body shorter than its Content-Length, a bad URL, a
 * path parameter too long). Keeps fastify's code and message.
 */
export class RequestRefusedError extends CataloguedError {
  constructor(code: FrameworkErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * A request that could not be read, refused with a 4xx status by something
 * that has no Hookwork code (a body stream cut short, a plugin route's own
 * error carrying a statusCode). The status is kept; the code is HKW_ERR_BAD_REQUEST.
 */
export class BadRequestError extends CataloguedError {
  constructor(message: string, statusCode = 400) {
    super('HKW_ERR_BAD_REQUEST', message, undefined, statusCode);
  }
}
