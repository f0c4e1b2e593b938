// The contract between outbound targets (webhooks, commands) and the delivery
// queue that runs them asynchronously. Targets say how to make one attempt;
// the queue decides when, how often, and keeps the record.

/** One target's attempts at one event, as the queue keeps it. */
export interface DeliveryRecord {
  readonly id: string;
  /** The target's unique name (`handler:<name>` or a webhook name). */
  readonly target: string;
  /** The event as JSON-safe data (secrets only if the target was granted them). */
  readonly event: Readonly<Record<string, unknown>>;
  /**
   * The event exactly as stored (JSON), when the queue has it: a target whose
   * body is the plain event may send it as-is instead of serialising again.
   */
  readonly eventJson?: string;
  /** The same JSON as UTF-8 bytes, when the queue keeps it so (a target may send them as is). */
  readonly eventBytes?: Buffer;
  /** Stable across retries of this delivery, so receivers can deduplicate. */
  readonly webhookId: string;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly state: DeliveryState;
  /** When the next attempt is due, ms since the epoch. */
  readonly dueAt: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastError?: string;
  /**
   * The event body was not kept after success (`delivery.keep_done_body:
   * none`): `event` is `{}` and the delivery cannot be retried or replayed.
   */
  readonly eventDropped?: boolean;
  /**
   * The W3C trace context of the span that enqueued it (`traceparent`, then
   * a line break and `tracestate` if any): its attempts, even after a restart, join that trace.
   */
  readonly traceContext?: string;
}

export type DeliveryState = 'pending' | 'inflight' | 'done' | 'failed';

/**
 * What a target asks the queue to deliver: the event as data, or as its JSON
 * text, or both (`eventJson` must then be JSON.stringify(event)). Given only
 * the text, the queue stores it as is and parses it only if someone reads
 * `event`.
 */
export interface NewDelivery {
  readonly target: string;
  readonly event?: Readonly<Record<string, unknown>>;
  /** JSON.stringify(event), when the caller has it already (saves serialising it again). */
  readonly eventJson?: string;
  /** Defaults to a fresh `msg_…` id. */
  readonly webhookId?: string;
  /** Defaults to now. */
  readonly dueAt?: number;
  /** Defaults to the active span's context when tracing is on (see DeliveryRecord.traceContext). */
  readonly traceContext?: string;
}

/** The outcome of one attempt, as a target reports it. */
export interface AttemptResult {
  readonly ok: boolean;
  /** For failures: may a later attempt succeed? (connection errors, timeouts, 429, 5xx) */
  readonly retryable?: boolean;
  /** The receiver asked to wait (Retry-After), in ms. */
  readonly retryAfterMs?: number;
  /** The target must be disabled (HTTP 410 Gone). */
  readonly disableTarget?: boolean;
  readonly httpStatus?: number;
  readonly exitCode?: number;
  /** The first 4 KiB of the response body or command output. */
  readonly response?: string;
  readonly error?: string;
  /**
   * The request headers as sent (HTTP targets), names lower-case, with
   * authorization, proxy-authorization, cookie and every header carrying a
   * configured secret already replaced by "[redacted]": a secret is never stored.
   */
  readonly requestHeaders?: Readonly<Record<string, string>>;
  /** The request body as sent, first 64 KiB, when it is not the stored event itself. */
  readonly requestBody?: string;
  /** The body sent was the delivery's stored event as is (so `requestBody` is not kept again). */
  readonly requestBodyIsEvent?: boolean;
  /** The response headers, names lower-case. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
}

/** One recorded attempt. */
export interface AttemptRecord extends AttemptResult {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly startedAt: number;
  readonly durationMs: number;
}

export interface AttemptContext {
  readonly webhookId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborted when the queue shuts down or the attempt's lease ends. */
  readonly signal: AbortSignal;
}

/** Something the queue can deliver to. */
export interface DeliveryTarget {
  readonly name: string;
  readonly kind: 'webhook' | 'command' | (string & {});
  /** Where it sends, as operators may see it (credentials and query values redacted): the console's targets page. */
  readonly shownUrl?: string;
  /** Attempts running at once for this target (default 2 for commands, 16 for webhooks). */
  readonly concurrency?: number;
  /**
   * Its deliveries are collected and sent as one, whose event is the JSON
   * array of theirs, when `maxEvents` are collected or the oldest is
   * `withinMs` old (at least one is set).
   */
  readonly digest?: { readonly maxEvents?: number; readonly withinMs?: number };
  /** Its own rate limit, retry schedule, breaker and disabling (unset: the queue's). */
  readonly controls?: DeliveryControls;
  attempt(delivery: DeliveryRecord, context: AttemptContext): Promise<AttemptResult>;
}

/** A target's circuit breaker (see docs/delivery.md#circuit-breakers). */
export interface BreakerSettings {
  readonly mode: 'consecutive' | 'failure_rate';
  /** consecutive: failed attempts in a row that open it (0: off). */
  readonly failures: number;
  readonly cooldownMs: number;
  /** failure_rate: the failed share of the window's attempts that opens it. */
  readonly failureRatio: number;
  readonly windowMs: number;
  /** failure_rate: attempts the window must hold before the ratio counts. */
  readonly minRequests: number;
  /** Attempts let through once the cool-down is over; all must succeed to close it. */
  readonly halfOpenProbes: number;
}

/** Attempts a target may start, cluster-wide: `perSecond` on average, up to `burst` at once. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** What a target may set for itself of how the queue delivers to it. */
export interface DeliveryControls {
  readonly rateLimit?: RateLimit;
  /** Delay (seconds) before each attempt, as delivery.retry_schedule. */
  readonly retrySchedule?: readonly number[];
  /** Over the queue's breaker settings. */
  readonly breaker?: Partial<BreakerSettings>;
  /** Failing without a single success this long (ms) disables the target; 0: never. */
  readonly disableAfterMs?: number;
}

export interface EnqueueOptions {
  /** False: the caller does not read the records (enqueue resolves to an empty list). Default true. */
  readonly records?: boolean;
}

/** What targets and the emit pipeline need from the delivery layer. */
export interface DeliveryQueue {
  /** Makes a target deliverable; returns its remover. */
  registerTarget(target: DeliveryTarget): () => void;
  /**
   * Accepts deliveries: when this resolves they are kept (durably, with a
   * durable store). Resolves to their records, in order; with
   * `{ records: false }` to an empty list (a caller that does not read them,
   * the emit pipeline, saves making one per delivery).
   */
  enqueue(deliveries: readonly NewDelivery[], options?: EnqueueOptions): Promise<readonly DeliveryRecord[]>;
  /**
   * Back-pressure: throws BackpressureError when the queue holds
   * `delivery.max_pending`, or a target of these deliveries its own bound.
   * The emit pipeline asks before it enqueues a new event's deliveries (the
   * follow-ups of accepted work, chains and failure handlers, never ask).
   */
  admit?(deliveries: readonly NewDelivery[]): void;
  /** Bounds a target's unfinished deliveries (its `max_pending`); returns the remover. */
  boundTarget?(target: string, maxPending: number): () => void;
}
