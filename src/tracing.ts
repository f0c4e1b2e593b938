// OpenTelemetry traces through @opentelemetry/api only: a no-op until an SDK
// registers a tracer provider (`hookwork serve` with OTEL_* variables, or an
// embedder). Hot paths call tracingOn() first and build no span, context or
// attributes object while it is false, so tracing off costs one property read.
// W3C trace context is formatted and parsed here rather than through the
// global propagator: an embedder's SDK may register none, and the stored
// context of a delivery must read back the same after a restart.

import {
  context,
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

export { context, trace, SpanKind, SpanStatusCode, type Attributes, type Context, type Span };

// Where @opentelemetry/api (major 1) keeps its globals: `trace` is set there
// only by trace.setGlobalTracerProvider(). Reading it is far cheaper than
// trace.getTracerProvider() (a version check per call); test/tracing.test.ts
// checks that it follows the registration.
const API_KEY = Symbol.for('opentelemetry.js.api.1');
const globals = globalThis as unknown as Record<symbol, { trace?: unknown } | undefined>;

/** True once a tracer provider is registered: only then do spans get made. */
export function tracingOn(): boolean {
  return globals[API_KEY]?.trace !== undefined;
}

// A ProxyTracer: it follows a provider registered after this module loaded.
const tracer = trace.getTracer('hookwork');

/** Starts a span, a child of `parent` (default: the active context). Call only when tracingOn(). */
export function startSpan(name: string, attributes?: Attributes, kind: SpanKind = SpanKind.INTERNAL, parent?: Context, links?: Link[]): Span {
  return tracer.startSpan(name, { kind, ...(attributes === undefined ? {} : { attributes }), ...(links === undefined ? {} : { links }) }, parent ?? context.active());
}

/** Runs `fn` with `span` active, so the spans it starts are its children. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Ends a span, as failed when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  span.end();
}

/** Runs `fn` inside a new span that ends (failed if `fn` throws or rejects) when `fn` settles. */
export async function traced<T>(name: string, attributes: Attributes | undefined, fn: () => T | Promise<T>, kind?: SpanKind): Promise<T> {
  const span = startSpan(name, attributes, kind);
  try {
    const result = await withSpan(span, fn);
    endSpan(span);
    return result;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

/**
 * Runs `fn` inside a new span that ends when `fn` returns, or when the
 * thenable it returns settles: a synchronous method stays synchronous.
 */
export function spanAround<T>(name: string, attributes: Attributes | undefined, fn: () => T): T {
  const span = startSpan(name, attributes);
  let result: T;
  try {
    result = withSpan(span, fn);
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    (result as unknown as PromiseLike<unknown>).then(
      () => endSpan(span),
      (err: unknown) => endSpan(span, err),
    );
  } else endSpan(span);
  return result;
}

/** Sets an attribute on the active span, if one records. */
export function setActiveAttribute(key: string, value: string | number | boolean): void {
  trace.getSpan(context.active())?.setAttribute(key, value);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The `traceparent` header value of a span context. */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * A remote span context from `traceparent` (and `tracestate`) headers, or
 * undefined when absent or malformed (W3C: a bad header starts a new trace).
 */
export function parseTraceparent(traceparent: unknown, tracestate?: unknown): SpanContext | undefined {
  if (typeof traceparent !== 'string' || traceparent.length > 512) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is invalid; version 00 has nothing after the flags.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(typeof tracestate === 'string' && tracestate !== '' && tracestate.length <= 512 ? { traceState: createTraceState(tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** The context an incoming request continues: its parent when it carries a valid `traceparent`, else the active one. */
export function contextFromHeaders(traceparent: unknown, tracestate: unknown): Context {
  const remote = parseTraceparent(traceparent, tracestate);
  return remote === undefined ? context.active() : trace.setSpanContext(ROOT_CONTEXT, remote);
}

/**
 * The trace context a delivery keeps (`traceparent`, then a line break and
 * `tracestate` when there is one), so an attempt made after a restart joins
 * the event's trace. Undefined when no span records.
 */
export function activeTraceContext(): string | undefined {
  const span = trace.getSpan(context.active());
  if (span === undefined) return undefined;
  return serialiseSpanContext(span.spanContext());
}

export function serialiseSpanContext(spanContext: SpanContext): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const state = spanContext.traceState?.serialize();
  const parent = formatTraceparent(spanContext);
  return state === undefined || state === '' ? parent : `${parent}\n${state}`;
}

/** The context to start a span under from a stored trace context (see activeTraceContext). */
export function contextFromStored(stored: string | undefined): Context | undefined {
  if (stored === undefined) return undefined;
  const cut = stored.indexOf('\n');
  const remote = cut === -1 ? parseTraceparent(stored) : parseTraceparent(stored.slice(0, cut), stored.slice(cut + 1));
  return remote === undefined ? undefined : trace.setSpanContext(ROOT_CONTEXT, remote);
}

/** The `traceparent` and `tracestate` headers of a span, as flat name/value pairs. */
export function traceHeaders(span: Span): string[] {
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return [];
  const state = spanContext.traceState?.serialize();
  const headers = ['traceparent', formatTraceparent(spanContext)];
  if (state !== undefined && state !== '') headers.push('tracestate', state);
  return headers;
}
