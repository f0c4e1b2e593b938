// A webhook target: renders URL, headers and body from templates, signs the
// request (Standard Webhooks), checks the address with the SSRF guard, sends
// through a keep-alive undici pool pinned to the checked address, and tells
// the delivery queue what the outcome means (retry, give up, disable).

import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { compileStringTemplate, type Template } from '../events/template.js';
import type { LookupOptions } from '../events/context.js';
import { SsrfRefusedError, toError } from '../errors.js';
import type { AttemptContext, DeliveryRecord } from '../delivery/types.js';
import { BodyRenderer, type BodyFormat } from './body-format.js';
import type { HttpPools } from './http-pools.js';
import { WebhookSigner } from './signing.js';
import type { SsrfGuard } from './ssrf-guard.js';
import { headBytes, type EventRecord, type OutboundTarget, type RunResult, type TemplateExtras } from './target.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

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
}

export interface WebhookDeps {
  readonly pools: HttpPools;
  readonly ssrf: SsrfGuard;
}

const RESPONSE_HEAD = 4096;
/** Past this much of a response we stop reading and drop the socket. */
const RESPONSE_DRAIN_LIMIT = 1 << 20;
const USER_AGENT = 'Hookwork-Webhook/0.1';

interface UrlTemplate {
  readonly text: string;
  readonly template: Template<string>;
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

async function readHead(body: Dispatcher.ResponseData['body'], length: string | string[] | undefined): Promise<string> {
  // Small bodies with a length: one read, no async iteration.
  if (typeof length === 'string' && Number(length) <= RESPONSE_HEAD) {
    const text = await body.text();
    return text;
  }
  const chunks: Buffer[] = [];
  let kept = 0;
  let seen = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (kept < RESPONSE_HEAD) {
      chunks.push(chunk);
      kept += chunk.length;
    }
    if (seen > RESPONSE_DRAIN_LIMIT) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_HEAD).toString('utf8');
}

function isTimeout(error: Error): boolean {
  return error.name === 'TimeoutError' || /timeout/i.test((error as { code?: string }).code ?? '') || /timeout/i.test(error.name);
}

export class WebhookTarget implements OutboundTarget {
  readonly kind = 'webhook' as const;
  readonly name: string;
  readonly concurrency: number;
  readonly grants: ReadonlySet<string>;
  readonly method: HttpMethod;
  readonly #urls: readonly UrlTemplate[];
  readonly #headers: ReadonlyArray<readonly [string, Template<string>]>;
  readonly #body: BodyRenderer;
  readonly #timeoutMs: number;
  readonly #success: ReadonlySet<number> | undefined;
  readonly #signer: WebhookSigner;
  readonly #extras: TemplateExtras | undefined;
  readonly #dataAsRoot: boolean;
  readonly #lookup: LookupOptions;
  readonly #deps: WebhookDeps;

  constructor(options: WebhookTargetOptions, deps: WebhookDeps) {
    this.name = options.name;
    this.method = options.method ?? 'POST';
    this.concurrency = options.concurrency ?? 16;
    this.grants = new Set((options.grants ?? []).map((g) => g.toLowerCase()));
    this.#urls = [options.url, ...(options.fallbackUrls ?? [])].map((text) => ({ text, template: compileStringTemplate(text) }));
    this.#headers = Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), compileStringTemplate(v)] as const);
    this.#body = new BodyRenderer(options.format ?? 'json', options.payload);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#success = options.successStatus === undefined || options.successStatus.length === 0 ? undefined : new Set(options.successStatus);
    this.#signer = new WebhookSigner(options.secrets ?? []);
    this.#extras = options.extras;
    this.#dataAsRoot = options.dataAsRoot ?? false;
    this.#lookup = { grants: this.grants };
    this.#deps = deps;
  }

  /** Every placeholder the URL, header and body templates use (for config checks). */
  get placeholders(): readonly string[] {
    const all = new Set<string>();
    for (const u of this.#urls) for (const p of u.template.placeholders) all.add(p);
    for (const [, h] of this.#headers) for (const p of h.placeholders) all.add(p);
    for (const p of this.#body.placeholders) all.add(p);
    return [...all];
  }

  attempt(delivery: DeliveryRecord, context: AttemptContext): Promise<RunResult> {
    return this.run(delivery.event, context);
  }

  /** One attempt: the URL, then each fallback URL in order until one succeeds. */
  async run(event: EventRecord, context: AttemptContext): Promise<RunResult> {
    const started = performance.now();
    const roots: unknown[] = this.#extras === undefined ? [event] : [this.#extras(event, context), event];
    if (this.#dataAsRoot && event['data'] !== undefined) roots.splice(roots.length - 1, 0, event['data']);
    const hasBody = this.method !== 'GET' && this.method !== 'HEAD';
    const rendered = hasBody ? this.#body.render(roots, this.#lookup) : undefined;
    const body = rendered?.body ?? '';
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    if (rendered !== undefined) headers['content-type'] = rendered.contentType;
    for (const [key, template] of this.#headers) headers[key] = template.render(roots, this.#lookup);
    Object.assign(headers, this.#signer.headers(context.webhookId, body));

    let last: RunResult | undefined;
    let anyRetryable = false;
    let allDisable = true;
    for (const url of this.#urls) {
      const result = await this.#send(url.template.render(roots, this.#lookup), headers, body, context.signal);
      if (result.ok) return { ...result, durationMs: performance.now() - started };
      anyRetryable ||= result.retryable === true;
      allDisable &&= result.disableTarget === true;
      last = result;
      if (context.signal.aborted) break;
    }
    const failure = last as RunResult;
    return {
      ...failure,
      retryable: anyRetryable,
      disableTarget: allDisable && failure.disableTarget === true,
      durationMs: performance.now() - started,
    };
  }

  async #send(urlText: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<RunResult> {
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      return { ok: false, retryable: false, error: `Webhook "${this.name}": "${urlText}" is not an absolute URL (check the url template and its placeholders).` };
    }
    let checked;
    try {
      checked = await this.#deps.ssrf.check(url);
    } catch (err) {
      const error = toError(err);
      // A refusal stays a refusal; a failed DNS lookup may pass later.
      return {
        ok: false,
        retryable: !(err instanceof SsrfRefusedError),
        error: err instanceof SsrfRefusedError ? error.message : `Webhook "${this.name}": could not resolve ${url.hostname}: ${error.message}`,
      };
    }
    try {
      const pool = this.#deps.pools.get(url.origin, checked);
      // headersTimeout/bodyTimeout bound the wait; no per-request timer or combined signal on the hot path.
      const response = await pool.request({
        path: `${url.pathname}${url.search}`,
        method: this.method,
        headers,
        body: body === '' && (this.method === 'GET' || this.method === 'HEAD') ? null : body,
        signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const head = this.method === 'HEAD' ? (await response.body.dump(), '') : await readHead(response.body, response.headers['content-length']);
      return this.#classify(response.statusCode, response.headers['retry-after'], head, url);
    } catch (err) {
      const error = toError(err);
      const timedOut = isTimeout(error);
      return {
        ok: false,
        retryable: true,
        error: timedOut
          ? `Webhook "${this.name}": ${url.origin} did not answer within ${this.#timeoutMs} ms.`
          : `Webhook "${this.name}": request to ${url.origin} failed: ${error.message}`,
      };
    }
  }

  #classify(status: number, retryAfter: string | string[] | undefined, head: string, url: URL): RunResult {
    const response = headBytes(head, RESPONSE_HEAD);
    const ok = this.#success === undefined ? status >= 200 && status < 300 : this.#success.has(status);
    if (ok) return { ok: true, httpStatus: status, response };
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
