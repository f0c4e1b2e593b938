// Where a webhook's requests go out: HttpPools sends them on this thread,
// SenderThread on a thread of its own. A webhook target describes what all
// its requests share once (a RequestForm: method, fixed headers, timeout,
// secrets), asks once for the lane of an (origin, checked address), and
// then sends only what differs per request; the lane adds the signature.

import type { Dispatcher } from 'undici';
import type { ExchangeResult } from './exchange.js';
import { WebhookSigner } from './signing.js';
import type { CheckedTarget } from './ssrf-guard.js';
import type { TransportProfile } from './transport-profile.js';

export interface RequestFormOptions {
  readonly method: Dispatcher.HttpMethod;
  /** user-agent, content-type and the configured headers without placeholders, as flat name/value pairs. */
  readonly headers: readonly string[];
  /** Per request (undici's headers and body timeouts). */
  readonly timeoutMs: number;
  /** `whsec_…` (HMAC, `v1`) and `whsk_…` (ed25519, `v1a`) secrets; none: requests carry webhook-id and webhook-timestamp unsigned. */
  readonly secrets: readonly string[];
}

/** What every request of one webhook target shares. */
export class RequestForm {
  readonly method: Dispatcher.HttpMethod;
  readonly headers: readonly string[];
  readonly timeoutMs: number;
  readonly secrets: readonly string[];
  readonly signer: WebhookSigner;

  constructor(options: RequestFormOptions) {
    this.method = options.method;
    this.headers = options.headers;
    this.timeoutMs = options.timeoutMs;
    this.secrets = options.secrets;
    this.signer = new WebhookSigner(options.secrets);
  }

  /** One flat `[name, value…]` list, as undici takes it: the form's headers, the request's, then webhook-id, -timestamp and -signature. */
  headerList(request: Omit<FormRequest, 'body' | 'signal' | 'path'>, body: Buffer | null): string[] {
    const fixed = this.headers;
    const own = request.headers;
    const signs = this.signer.signs;
    const headers = new Array<string>(fixed.length + own.length + (signs ? 6 : 4));
    let i = 0;
    for (let k = 0; k < fixed.length; k++) headers[i++] = fixed[k] as string;
    for (let k = 0; k < own.length; k++) headers[i++] = own[k] as string;
    headers[i++] = 'webhook-id';
    headers[i++] = request.webhookId;
    headers[i++] = 'webhook-timestamp';
    headers[i++] = request.timestamp;
    if (signs) {
      headers[i++] = 'webhook-signature';
      headers[i++] = this.signer.signature(request.webhookId, request.timestamp, body ?? EMPTY);
    }
    return headers;
  }
}

/** What is signed for a request without a body (GET, HEAD). */
const EMPTY = Buffer.alloc(0);

/** What differs per request. */
export interface FormRequest {
  /** Path and query. */
  readonly path: string;
  /** The headers rendered from templates for this request, flat name/value pairs. */
  readonly headers: readonly string[];
  readonly webhookId: string;
  /** Unix seconds, as text. */
  readonly timestamp: string;
  /** Null for GET and HEAD. */
  readonly body: string | Buffer | null;
  readonly signal: AbortSignal;
}

export interface HttpLane {
  /** The lane can no longer send (its pool was closed or evicted, its thread stopped): ask the transport for a new one. */
  readonly stale: boolean;
  /** Signs and sends one request; rejects on connection errors, timeouts and aborts. */
  send(form: RequestForm, request: FormRequest): Promise<ExchangeResult>;
}

export interface HttpTransport {
  /** The lane whose sockets go to `origin` at the address the SSRF guard checked, made as `profile` says (mTLS, CAs, proxy). */
  lane(origin: string, target: CheckedTarget, profile?: TransportProfile): HttpLane;
  readonly closed: boolean;
  /** Lets the requests in flight end, then closes every socket. */
  close(): Promise<void>;
}
