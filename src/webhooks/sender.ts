// A webhook target: renders URL, headers and body from templates, checks the
// address with the SSRF guard, hands the request to a lane of its HTTP
// transport (which signs it, Standard Webhooks, and sends it on keep-alive
// sockets pinned to the checked address), and tells the delivery queue what
// the outcome means (retry, give up, disable).

import { STATUS_CODES } from 'node:http';
import { compileStringTemplate, type Template } from '../events/template.js';
import type { LookupOptions } from '../events/context.js';
import { SsrfRefusedError, toError } from '../errors.js';
import type { AttemptContext, DeliveryRecord } from '../delivery/types.js';
import { BodyRenderer, type BodyFormat } from './body-format.js';
import type { HttpMethod } from '../http/methods.js';
import { RESPONSE_HEAD, type ExchangeResult } from '../http/exchange.js';
import { RedactedHeaderRecords, redactionList } from '../http/redact-headers.js';
import { redactUrl } from '../delivery/redact-url.js';
import { RequestForm, type FormRequest, type HttpLane, type HttpTransport } from '../http/transport.js';
import { timestampNow } from '../http/signing.js';
import type { CheckedTarget, SsrfGuard } from '../http/ssrf-guard.js';
import { transportProfile, type TransportProfile, type TransportProfileOptions } from '../http/transport-profile.js';
import type { OAuth2Token } from './oauth2.js';
import { endSpan, SpanKind, startSpan, traceHeaders, tracingOn } from '../tracing.js';
import { headBytes, type EventRecord, type OutboundTarget, type RunResult, type TemplateExtras } from '../handlers/target.js';


export interface WebhookTargetOptions {
  /** Unique target name (`handler:<name>` or `webhook:<name>`). */
  name: string;
  /** URL template. */
  url: string;
  /** Tried in order when the URL before fails (SFTPPlus). */
  fallbackUrls?: readonly string[];
  method?: HttpMethod;
  /** Header templates. */
  headers?: Readonly<Record<string, string>>;
  format?: BodyFormat;
  /** Body template; without it a json body is the event itself. */
  payload?: unknown;
  /** Per request, default 30 000 ms. */
  timeoutMs?: number;
  /** Statuses that count as success; default any 2xx. SFTPGo compatibility wants exactly [200]. */
  successStatus?: readonly number[];
  /** `whsec_…` secrets; several sign at once (rotation). */
  secrets?: readonly string[];
  /** Secret context paths the templates may read (`account.token`). */
  grants?: readonly string[];
  /** Deliveries in flight at once (default 16). */
  concurrency?: number;
  /** Values templates see before the event (`callback_url`). */
  extras?: TemplateExtras;
  /** Magpie style: the event's data members are top-level template variables (`{{user.name}}`). */
  dataAsRoot?: boolean;
  /** Client certificate and key (mTLS), trusted CAs, an outbound proxy. */
  transport?: TransportProfileOptions;
  /** An `authorization` header value every request carries (basic or bearer auth), over a configured one. */
  authorization?: string;
  /** OAuth2 client credentials: each request carries `authorization: Bearer <token>`; a 401 fetches a new token and resends once. */
  oauth2?: OAuth2Token;
  /**
   * More header names whose values the attempt's record shows as
   * "[redacted]" (headers an auth scheme fills with a secret);
   * authorization, proxy-authorization and cookie always are.
   */
  redactHeaders?: readonly string[];
}

/** What an attempt's record keeps of a body sent (the console shows it). */
const REQUEST_BODY_KEPT = 64 * 1024;

/** What the attempt's record keeps of the body: nothing, the body (its head), or a mark that it was the stored event. */
type BodySent = Pick<RunResult, 'requestBody' | 'requestBodyIsEvent'>;
const NOTHING_SENT: BodySent = Object.freeze({});
const STORED_EVENT_SENT: BodySent = Object.freeze({ requestBodyIsEvent: true });

export interface WebhookDeps {
  /** Where the requests go out: HttpPools (this thread) or a SenderThread. */
  readonly http: HttpTransport;
  readonly ssrf: SsrfGuard;
}

const USER_AGENT = 'Hookwork-Webhook/0.1';
/** The rendered headers of a target whose headers have no placeholders. */
const NO_HEADERS: readonly string[] = Object.freeze([]);

/** The roots of an attempt whose templates read nothing: a fixed URL, fixed headers, the stored event as body. */
const NO_ROOTS: readonly unknown[] = Object.freeze([]);

interface ParsedUrl {
  readonly url: URL;
  readonly origin: string;
  /** The host name the SSRF guard keys its answers by. */
  readonly hostname: string;
  /** http: or https: (anything else goes to check(), which refuses it). */
  readonly web: boolean;
  /** Path and query, as the request line wants them. */
  readonly path: string;
}

/** A URL template, the parse of its last rendering and the lane it last used (most render the same text every time). */
class UrlTemplate {
  readonly template: Template<string>;
  /** The text when the template has no placeholder. */
  readonly fixed: string | undefined;
  #lastText: string | undefined;
  #last: ParsedUrl | undefined;
  #lastChecked: CheckedTarget | undefined;
  #lastLane: HttpLane | undefined;

  constructor(text: string) {
    this.template = compileStringTemplate(text);
    this.fixed = this.template.isStatic ? this.template.render([]) : undefined;
  }

  render(roots: readonly unknown[], lookup: LookupOptions): string {
    return this.fixed ?? this.template.render(roots, lookup);
  }

  /** The parsed URL, or undefined when `text` is not an absolute URL. */
  parse(text: string): ParsedUrl | undefined {
    if (text === this.#lastText) return this.#last;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    this.#lastText = text;
    this.#last = { url, origin: url.origin, hostname: url.hostname, web: url.protocol === 'http:' || url.protocol === 'https:', path: `${url.pathname}${url.search}` };
    return this.#last;
  }

  /**
   * The lane for the origin and checked address; remembered while the guard
   * keeps answering with the same check (a lane whose pool was evicted, or
   * whose thread started again, is stale and asked for again).
   */
  lane(http: HttpTransport, parsed: ParsedUrl, checked: CheckedTarget, profile: TransportProfile | undefined): HttpLane {
    const last = this.#lastLane;
    if (checked === this.#lastChecked && last !== undefined && !last.stale && parsed === this.#last) return last;
    const lane = http.lane(parsed.origin, checked, profile);
    this.#lastChecked = checked;
    this.#lastLane = lane;
    return lane;
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function isTimeout(error: Error): boolean {
  return error.name === 'TimeoutError' || /timeout/i.test((error as { code?: string }).code ?? '') || /timeout/i.test(error.name);
}

export class WebhookTarget implements OutboundTarget {
  readonly kind = 'webhook' as const;
  readonly name: string;
  readonly shownUrl: string;
  /** Header names (lower-case) whose values the attempt's record redacts. */
  readonly #redact: ReadonlySet<string>;
  /** The request's and the response's headers as attempt records keep them (redacted). */
  readonly #requestHeaders: RedactedHeaderRecords;
  readonly #responseHeaders: RedactedHeaderRecords;
  readonly concurrency: number;
  readonly grants: ReadonlySet<string>;
  readonly method: HttpMethod;
  readonly #urls: readonly UrlTemplate[];
  /** Header templates with placeholders, rendered per request. */
  readonly #headers: ReadonlyArray<readonly [string, Template<string>]>;
  /** Method, user-agent, content-type and the static header templates, timeout and secrets: what every request shares. */
  /** Replaced (never changed) when the signing secrets change: the sender thread registers a new form. */
  #form: RequestForm;
  /** #form keeping the response headers, for test sends (made on the first). */
  /** The `secrets` of the config, before any rotation from the API. */
  readonly configSecrets: readonly string[];
  readonly #body: BodyRenderer;
  readonly #success: ReadonlySet<number> | undefined;
  readonly #extras: TemplateExtras | undefined;
  readonly #dataAsRoot: boolean;
  readonly #lookup: LookupOptions;
  readonly #deps: WebhookDeps;
  readonly #hasBody: boolean;
  /** Whether a URL or header template has placeholders: only they read the event and the extras when the body is the stored JSON. */
  readonly #templatesReadEvent: boolean;
  readonly #profile: TransportProfile | undefined;
  readonly #oauth2: OAuth2Token | undefined;

  constructor(options: WebhookTargetOptions, deps: WebhookDeps) {
    this.name = options.name;
    this.method = options.method ?? 'POST';
    this.concurrency = options.concurrency ?? 16;
    this.grants = new Set((options.grants ?? []).map((g) => g.toLowerCase()));
    this.#urls = [options.url, ...(options.fallbackUrls ?? [])].map((text) => new UrlTemplate(text));
    this.#body = new BodyRenderer(options.format ?? 'json', options.payload);
    const secrets = options.secrets ?? [];
    // Later entries won over earlier ones when headers were an object: the
    // signature headers over configured ones, configured ones over defaults.
    const signed = new Set(['webhook-id', 'webhook-timestamp', ...(secrets.length > 0 ? ['webhook-signature'] : [])]);
    // The target's own authentication wins over a configured authorization header.
    if (options.authorization !== undefined || options.oauth2 !== undefined) signed.add('authorization');
    const configured = new Map<string, Template<string>>();
    for (const [k, v] of Object.entries(options.headers ?? {})) if (!signed.has(k.toLowerCase())) configured.set(k.toLowerCase(), compileStringTemplate(v));
    const fixed = new Map<string, string>([['user-agent', USER_AGENT]]);
    if (this.method !== 'GET' && this.method !== 'HEAD') fixed.set('content-type', this.#body.contentType);
    const dynamic: Array<readonly [string, Template<string>]> = [];
    for (const [k, template] of configured) {
      if (template.isStatic) fixed.set(k, template.render([]));
      else {
        fixed.delete(k);
        dynamic.push([k, template]);
      }
    }
    if (options.authorization !== undefined) fixed.set('authorization', options.authorization);
    this.#headers = dynamic;
    // Redacted in the record: credential-like names, and any header whose template reads a granted secret.
    const readsSecret = dynamic.filter(([, t]) => t.placeholders.some((p) => this.grants.has(p.toLowerCase()))).map(([k]) => k);
    this.#redact = redactionList(configured.keys(), [...readsSecret, ...(options.redactHeaders ?? [])]);
    this.#requestHeaders = new RedactedHeaderRecords(this.#redact);
    this.#responseHeaders = new RedactedHeaderRecords(this.#redact);
    this.shownUrl = redactUrl(options.url);
    this.#form = new RequestForm({ method: this.method, headers: [...fixed].flat(), timeoutMs: options.timeoutMs ?? 30_000, secrets });
    this.configSecrets = secrets;
    this.#success = options.successStatus === undefined || options.successStatus.length === 0 ? undefined : new Set(options.successStatus);
    this.#extras = options.extras;
    this.#dataAsRoot = options.dataAsRoot ?? false;
    this.#lookup = { grants: this.grants };
    this.#deps = deps;
    this.#hasBody = this.method !== 'GET' && this.method !== 'HEAD';
    this.#templatesReadEvent = this.#headers.length > 0 || this.#urls.some((u) => u.fixed === undefined);
    this.#profile = options.transport === undefined ? undefined : transportProfile(options.transport);
    this.#oauth2 = options.oauth2;
  }

  /** The secrets requests are signed with now. */
  get secrets(): readonly string[] {
    return this.#form.secrets;
  }

  /**
   * Signs the next requests with `secrets` (a rotation from the API, or its
   * overlap ending). Only the signature changes; an empty list is refused by
   * the caller (the webhook-signature header stays the target's own).
   */
  useSecrets(secrets: readonly string[]): void {
    const now = this.#form.secrets;
    if (now.length === secrets.length && now.every((s, i) => s === secrets[i])) return;
    const form = this.#form;
    this.#form = new RequestForm({ method: form.method, headers: form.headers, timeoutMs: form.timeoutMs, secrets });
  }

  /** Every placeholder the URL, header and body templates use (for config checks). */
  get placeholders(): readonly string[] {
    const all = new Set<string>();
    for (const u of this.#urls) for (const p of u.template.placeholders) all.add(p);
    for (const [, h] of this.#headers) for (const p of h.placeholders) all.add(p);
    // Static headers have no placeholders to report.
    for (const p of this.#body.placeholders) all.add(p);
    return [...all];
  }

  attempt(delivery: DeliveryRecord, context: AttemptContext): Promise<RunResult> {
    const json = delivery.eventBytes ?? delivery.eventJson;
    if (json === undefined || !this.#hasBody || !this.#body.isEventItself) return this.run(delivery.event, context);
    // The queue's stored JSON is the body as is; the event is parsed only when a template reads it.
    if (!this.#templatesReadEvent) return this.#sendAll(NO_ROOTS, context, json);
    return this.#attempt(delivery.event, context, json);
  }

  /** One attempt: the URL, then each fallback URL in order until one succeeds. */
  run(event: EventRecord, context: AttemptContext): Promise<RunResult> {
    return this.#attempt(event, context, undefined);
  }

  #attempt(event: EventRecord, context: AttemptContext, eventJson: string | Buffer | undefined): Promise<RunResult> {
    let roots: unknown[] = this.#extras === undefined ? [event] : [this.#extras(event, context), event];
    if (this.#dataAsRoot && event['data'] !== undefined) roots = [...roots.slice(0, -1), event['data'], event];
    return this.#sendAll(roots, context, eventJson);
  }

  // Not async, nor are #sendUrls and #send on their usual path (one URL, an
  // address the guard checked recently): an attempt is then one promise, the
  // exchange's, and no async frame per step.
  #sendAll(roots: readonly unknown[], context: AttemptContext, eventJson: string | Buffer | undefined): Promise<RunResult> {
    try {
      const started = performance.now();
      const body = this.#hasBody ? (eventJson ?? this.#body.text(roots, this.#lookup)) : null;
      const headers = this.#headerValues(roots);
      const timestamp = timestampNow();
      const oauth2 = this.#oauth2;
      if (oauth2 === undefined) return this.#sendUrls(roots, context, body, eventJson, headers, timestamp, started);
      return this.#sendWithToken(oauth2, roots, context, body, eventJson, headers, timestamp, started);
    } catch (err) {
      // A template that throws fails the attempt's promise, as from an async function.
      return Promise.reject(err as Error);
    }
  }

  async #sendWithToken(
    oauth2: OAuth2Token,
    roots: readonly unknown[],
    context: AttemptContext,
    body: string | Buffer | null,
    eventJson: string | Buffer | undefined,
    headers: readonly string[],
    timestamp: string,
    started: number,
  ): Promise<RunResult> {
    let token = await this.#oauthToken(oauth2);
    if (typeof token !== 'string') return token;
    const first = await this.#sendUrls(roots, context, body, eventJson, [...headers, 'authorization', `Bearer ${token}`], timestamp, started);
    if (first.httpStatus !== 401 || context.signal.aborted) return first;
    // The receiver refused the token (revoked, expired early): one new token, one resend.
    oauth2.invalidate(token);
    token = await this.#oauthToken(oauth2);
    if (typeof token !== 'string') return token;
    return this.#sendUrls(roots, context, body, eventJson, [...headers, 'authorization', `Bearer ${token}`], timestamp, started);
  }

  /** The OAuth2 token, or the failed attempt when the token endpoint could not give one (retryable). */
  async #oauthToken(oauth2: OAuth2Token): Promise<string | RunResult> {
    try {
      return await oauth2.token();
    } catch (err) {
      const refused = err instanceof SsrfRefusedError;
      return { ok: false, retryable: !refused, error: `Webhook "${this.name}": no OAuth2 token: ${toError(err).message}` };
    }
  }

  #sendUrls(
    roots: readonly unknown[],
    context: AttemptContext,
    body: string | Buffer | null,
    eventJson: string | Buffer | undefined,
    headers: readonly string[],
    timestamp: string,
    started: number,
  ): Promise<RunResult> {
    // What the record keeps of the body: nothing more when it is the stored event as is.
    const sent: BodySent =
      body === null ? NOTHING_SENT : eventJson !== undefined && body === eventJson ? STORED_EVENT_SENT : { requestBody: this.#hideGranted(headBytes(String(body), REQUEST_BODY_KEPT), roots) };
    const request = { headers, webhookId: context.webhookId, timestamp, body };
    if (this.#urls.length > 1) return this.#sendInTurn(roots, context, request, started, sent);
    const url = this.#urls[0] as UrlTemplate;
    // The only URL: its result is the attempt's, finished where the answer arrives (no promise more per attempt).
    return this.#send(url, url.render(roots, this.#lookup), request, context.signal, started, this.#form, sent, true);
  }

  /** The URL, then each fallback URL in order until one succeeds. */
  async #sendInTurn(roots: readonly unknown[], context: AttemptContext, request: Omit<FormRequest, 'path' | 'signal'>, started: number, sent: BodySent): Promise<RunResult> {
    let last: RunResult | undefined;
    let anyRetryable = false;
    let allDisable = true;
    for (const url of this.#urls) {
      const result = await this.#send(url, url.render(roots, this.#lookup), request, context.signal, started, this.#form, sent);
      if (result.ok) return result;
      anyRetryable ||= result.retryable === true;
      allDisable &&= result.disableTarget === true;
      last = result;
      if (context.signal.aborted) break;
    }
    return this.#failedAll(last as RunResult, anyRetryable, allDisable, started);
  }

  /** The result of the only URL as the attempt's: a failure as #failedAll words it. */
  #alone(result: RunResult, started: number): RunResult {
    return result.ok ? result : this.#failedAll(result, result.retryable === true, result.disableTarget === true, started);
  }

  /** `sending` as the attempt's result when it is the only URL's (#alone), else as it is. */
  #aloneThen(sending: Promise<RunResult>, alone: boolean, started: number): Promise<RunResult> {
    return alone ? sending.then((result) => this.#alone(result, started)) : sending;
  }

  /** The attempt's result when no URL took it: the last failure, retryable when any was, disabling only when all would. */
  #failedAll(last: RunResult, anyRetryable: boolean, allDisable: boolean, started: number): RunResult {
    return { ...last, retryable: anyRetryable, disableTarget: allDisable && last.disableTarget === true, durationMs: performance.now() - started };
  }

  /** The body as the record keeps it: a granted secret (`account.token`) a template put in it shows as "[redacted]". */
  #hideGranted(text: string, roots: readonly unknown[]): string {
    if (this.grants.size === 0) return text;
    let out = text;
    const event = roots[roots.length - 1];
    for (const path of this.grants) {
      let node: unknown = event;
      for (const part of path.split('.')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
      if (typeof node === 'string' && node.length >= 4) out = out.replaceAll(node, '[redacted]');
    }
    return out;
  }

  /** The templated headers, rendered, as flat name/value pairs (the form has the rest). */
  #headerValues(roots: readonly unknown[]): readonly string[] {
    const dynamic = this.#headers;
    if (dynamic.length === 0) return NO_HEADERS;
    const headers = new Array<string>(dynamic.length * 2);
    let i = 0;
    for (const [key, template] of dynamic) {
      headers[i++] = key;
      headers[i++] = template.render(roots, this.#lookup);
    }
    return headers;
  }

  #send(
    template: UrlTemplate,
    urlText: string,
    request: Omit<FormRequest, 'path' | 'signal'>,
    signal: AbortSignal,
    started: number,
    form: RequestForm,
    sent: BodySent,
    alone = false,
  ): Promise<RunResult> {
    const parsed = template.parse(urlText);
    if (parsed === undefined) {
      const result: RunResult = { ok: false, retryable: false, error: `Webhook "${this.name}": "${urlText}" is not an absolute URL (check the url template and its placeholders).`, ...sent };
      return Promise.resolve(alone ? this.#alone(result, started) : result);
    }
    // A checked IP literal or a recently checked name needs no await.
    const checked = parsed.web ? this.#deps.ssrf.cachedHost(parsed.hostname) : undefined;
    if (checked === undefined) return this.#aloneThen(this.#checkThenSend(template, parsed, request, signal, started, form, sent), alone, started);
    if (tracingOn()) return this.#aloneThen(this.#sendTraced(template, parsed, checked, request, signal, started, form, sent), alone, started);
    return this.#exchange(template, parsed, checked, request, signal, started, form, sent, alone);
  }

  async #checkThenSend(
    template: UrlTemplate,
    parsed: ParsedUrl,
    request: Omit<FormRequest, 'path' | 'signal'>,
    signal: AbortSignal,
    started: number,
    form: RequestForm,
    sent: BodySent,
  ): Promise<RunResult> {
    let checked: CheckedTarget;
    try {
      checked = await this.#deps.ssrf.check(parsed.url);
    } catch (err) {
      const error = toError(err);
      // A refusal stays a refusal; a failed DNS lookup may pass later.
      return {
        ok: false,
        retryable: !(err instanceof SsrfRefusedError),
        error: err instanceof SsrfRefusedError ? error.message : `Webhook "${this.name}": could not resolve ${parsed.hostname}: ${error.message}`,
        ...sent,
      };
    }
    if (tracingOn()) return this.#sendTraced(template, parsed, checked, request, signal, started, form, sent);
    return this.#exchange(template, parsed, checked, request, signal, started, form, sent);
  }

  /**
   * The request in an HTTP client span (semantic conventions; the URL without
   * credentials or query), whose `traceparent` and `tracestate` go with the
   * request: computed here, on the main thread, they cross to the sender thread as headers.
   */
  async #sendTraced(template: UrlTemplate, parsed: ParsedUrl, checked: CheckedTarget, request: Omit<FormRequest, 'path' | 'signal'>, signal: AbortSignal, started: number, form: RequestForm, sent: BodySent): Promise<RunResult> {
    const url = parsed.url;
    const span = startSpan(
      this.method,
      {
        'http.request.method': this.method,
        'server.address': url.hostname,
        'server.port': url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
        'url.full': `${url.protocol}//${url.host}${url.pathname}`,
        'hookwork.delivery.target': this.name,
      },
      SpanKind.CLIENT,
    );
    const result = await this.#exchange(template, parsed, checked, { ...request, headers: [...request.headers, ...traceHeaders(span)] }, signal, started, form, sent);
    if (result.httpStatus !== undefined) span.setAttribute('http.response.status_code', result.httpStatus);
    if (!result.ok && result.httpStatus === undefined) span.setAttribute('error.type', 'request');
    endSpan(span, result.ok ? undefined : (result.error ?? 'failed'));
    return result;
  }

  /**
   * The request on its lane, and what its answer (or failure) means; `sent`
   * goes into the result as it is. `alone`: the result is the attempt's
   * (the only URL's), finished here (#alone).
   */
  #exchange(
    template: UrlTemplate,
    parsed: ParsedUrl,
    checked: CheckedTarget,
    request: Omit<FormRequest, 'path' | 'signal'>,
    signal: AbortSignal,
    started: number,
    form: RequestForm,
    sent: BodySent,
    alone = false,
  ): Promise<RunResult> {
    let sending: Promise<ExchangeResult>;
    try {
      // headersTimeout/bodyTimeout bound the wait; no per-request timer or combined signal on the hot path.
      sending = template.lane(this.#deps.http, parsed, checked, this.#profile).send(form, {
        path: parsed.path,
        headers: request.headers,
        webhookId: request.webhookId,
        timestamp: request.timestamp,
        body: request.body,
        signal,
      });
    } catch (err) {
      const failed = this.#failed(err, parsed, sent);
      return Promise.resolve(alone ? this.#alone(failed, started) : failed);
    }
    // One result object per attempt: the classification, the headers as sent and received (redacted) and what the record keeps of the body.
    return sending.then(
      (response) => {
        const result = this.#classify(response, parsed, started, sent);
        return alone ? this.#alone(result, started) : result;
      },
      (err: unknown) => {
        const failed = this.#failed(err, parsed, sent);
        return alone ? this.#alone(failed, started) : failed;
      },
    );
  }

  #failed(err: unknown, parsed: ParsedUrl, sent: BodySent): RunResult {
    const error = toError(err);
    // undici refused the request as built (a templated header rendered to a
    // line break, say): the same event would be refused on every retry.
    if ((error as { code?: unknown }).code === 'UND_ERR_INVALID_ARG') {
      return { ok: false, retryable: false, error: `Webhook "${this.name}": the request to ${parsed.origin} could not be sent: ${error.message} (check the templates of its headers and URL).`, ...sent };
    }
    const timedOut = isTimeout(error);
    return {
      ok: false,
      retryable: true,
      error: timedOut
        ? `Webhook "${this.name}": ${parsed.origin} did not answer within ${this.#form.timeoutMs} ms.`
        : `Webhook "${this.name}": request to ${parsed.origin} failed: ${error.message}`,
      ...sent,
    };
  }

  #classify(answer: ExchangeResult, parsed: ParsedUrl, started: number, sent: BodySent): RunResult {
    const status = answer.status;
    const response = headBytes(answer.head, RESPONSE_HEAD);
    const requestHeaders = this.#requestHeaders.fresh(answer.requestHeaders);
    const responseHeaders = this.#responseHeaders.of(answer.responseHeaders);
    const ok = this.#success === undefined ? status >= 200 && status < 300 : this.#success.has(status);
    if (ok) {
      return sent === STORED_EVENT_SENT
        ? { ok: true, httpStatus: status, response, durationMs: performance.now() - started, requestHeaders, responseHeaders, requestBodyIsEvent: true }
        : { ok: true, httpStatus: status, response, durationMs: performance.now() - started, requestHeaders, responseHeaders, ...sent };
    }
    const result = this.#refused(status, answer.retryAfter, response, parsed);
    return { ...result, requestHeaders, responseHeaders, ...sent };
  }

  /** What a status other than success means: retry (with Retry-After), give up, or disable the target. */
  #refused(status: number, retryAfter: string | undefined, response: string, parsed: ParsedUrl): RunResult {
    const url = parsed.url;
    const reason = `Webhook "${this.name}": ${url.origin}${url.pathname} answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
    if (status === 410) {
      return { ok: false, retryable: false, disableTarget: true, httpStatus: status, response, error: `${reason}; the target is gone and will be disabled.` };
    }
    if (status === 429 || status === 408 || status >= 500) {
      const retryAfterMs = parseRetryAfter(retryAfter);
      return { ok: false, retryable: true, httpStatus: status, response, error: reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    const why = status >= 300 && status < 400 ? ' (redirects are not followed)' : status >= 200 && status < 300 ? ` (success_status is ${[...(this.#success ?? [])].join(', ')})` : '';
    return { ok: false, retryable: false, httpStatus: status, response, error: `${reason}${why}.` };
  }
}
