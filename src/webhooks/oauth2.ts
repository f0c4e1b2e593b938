// OAuth2 client credentials (RFC 6749 §4.4) for a webhook target: the access
// token is fetched from the token endpoint, kept until shortly before it
// expires, and fetched again when a receiver answers 401 (once per attempt:
// the target refreshes and resends one time). Concurrent attempts share one
// fetch. The token endpoint is fixed in the config; it is checked by the
// SSRF guard like a webhook URL and reached at the address it checked. The
// client secret and the tokens are never logged.

import { Client } from 'undici';
import { pinnedLookup, type SsrfGuard } from '../http/ssrf-guard.js';

export interface OAuth2Options {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scope?: string;
  readonly audience?: string;
  /** PEM CAs for an https token endpoint (the target's tls.ca). */
  readonly ca?: string;
  /** Per token request. */
  readonly timeoutMs: number;
}

/** A token is renewed this long before the expiry the endpoint announced. */
const EXPIRY_MARGIN_MS = 30_000;

export class OAuth2TokenError extends Error {
  override readonly name = 'OAuth2TokenError';
}

export class OAuth2Token {
  readonly #options: OAuth2Options;
  readonly #ssrf: SsrfGuard;
  #token: string | undefined;
  #expiresAt = 0;
  #fetching: Promise<string> | undefined;
  /** Token requests made (tests and metrics read it). */
  fetches = 0;

  constructor(options: OAuth2Options, ssrf: SsrfGuard) {
    this.#options = options;
    this.#ssrf = ssrf;
  }

  /** The cached token, or a fresh one. */
  token(now = Date.now()): Promise<string> {
    if (this.#token !== undefined && now < this.#expiresAt) return Promise.resolve(this.#token);
    this.#fetching ??= this.#fetch().finally(() => {
      this.#fetching = undefined;
    });
    return this.#fetching;
  }

  /** A receiver refused `token` (401): the next token() fetches another (unless another attempt already did). */
  invalidate(token: string): void {
    if (this.#token === token) {
      this.#token = undefined;
      this.#expiresAt = 0;
    }
  }

  async #fetch(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, scope, audience, ca, timeoutMs } = this.#options;
    const url = new URL(tokenUrl);
    const checked = await this.#ssrf.check(url);
    const client = new Client(url.origin, { connect: { lookup: pinnedLookup(checked) as never, ...(ca === undefined ? {} : { ca }) } });
    this.fetches += 1;
    try {
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope !== undefined) form.set('scope', scope);
      if (audience !== undefined) form.set('audience', audience);
      // RFC 6749 §2.3.1: client_secret_basic, with both parts form-encoded.
      const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
      const response = await client.request({
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
        body: form.toString(),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw new OAuth2TokenError(`the token endpoint ${url.origin}${url.pathname} answered ${response.statusCode}`);
      }
      let body: { access_token?: unknown; expires_in?: unknown };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new OAuth2TokenError(`the token endpoint ${url.origin}${url.pathname} did not answer JSON`);
      }
      if (typeof body.access_token !== 'string' || body.access_token === '') {
        throw new OAuth2TokenError(`the answer of the token endpoint ${url.origin}${url.pathname} has no access_token`);
      }
      const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : Number.POSITIVE_INFINITY;
      this.#token = body.access_token;
      // Without expires_in the token is kept until a receiver refuses it.
      this.#expiresAt = Date.now() + Math.max(0, expiresIn - Math.min(EXPIRY_MARGIN_MS, expiresIn / 2));
      return body.access_token;
    } finally {
      void client.close().catch(() => undefined);
    }
  }
}
