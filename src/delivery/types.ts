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
  attempt(delivery: DeliveryRecord, context: AttemptContext): Promise<AttemptResult>;
}

/** What targets and the emit pipeline need from the delivery layer. */
export interface DeliveryQueue {
  /** Makes a target deliverable; returns its remover. */
  registerTarget(target: DeliveryTarget): () => void;
  /** Accepts deliveries: when this resolves they are kept (durably, with a durable store). */
  enqueue(deliveries: readonly NewDelivery[]): Promise<readonly DeliveryRecord[]>;
}
