// Standard Webhooks signing (https://www.standardwebhooks.com): every request
// carries webhook-id, webhook-timestamp and, with secrets, webhook-signature
// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. Several secrets sign at
// once (one signature each, space-separated) so a secret can be rotated
// without a window where receivers reject requests.

import { createHmac } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes a `whsec_<base64>` secret into its key bytes; throws InvalidArgumentError when malformed. */
export function decodeSecret(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) {
    throw new InvalidArgumentError('A webhook secret must look like "whsec_<base64>" (Standard Webhooks); generate one with generateSecret().');
  }
  const body = secret.slice(PREFIX.length);
  if (body.length === 0 || !BASE64.test(body)) {
    throw new InvalidArgumentError('The part of a webhook secret after "whsec_" must be base64.');
  }
  const key = Buffer.from(body, 'base64');
  if (key.length < 16) throw new InvalidArgumentError('A webhook secret must hold at least 16 bytes (24 base64 characters).');
  return key;
}

/** A fresh random secret in the `whsec_` form. */
export function generateSecret(bytes = 32): string {
  return PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64');
}

export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature'?: string;
}

export class WebhookSigner {
  readonly #keys: readonly Buffer[];

  /** `secrets` in the `whsec_` form; an empty list sends id and timestamp without a signature. */
  constructor(secrets: readonly string[] = []) {
    this.#keys = secrets.map(decodeSecret);
  }

  get signs(): boolean {
    return this.#keys.length > 0;
  }

  /** The headers for one request; `timestampSeconds` defaults to now. */
  headers(webhookId: string, body: string | Buffer, timestampSeconds = Math.floor(Date.now() / 1000)): SignatureHeaders {
    const timestamp = String(timestampSeconds);
    const headers: SignatureHeaders = { 'webhook-id': webhookId, 'webhook-timestamp': timestamp };
    if (this.#keys.length === 0) return headers;
    headers['webhook-signature'] = this.signature(webhookId, timestamp, body);
    return headers;
  }

  /** `v1,<sig>` for each secret, space-separated ('' without secrets). */
  signature(webhookId: string, timestamp: string, body: string | Buffer): string {
    // Two updates: no concatenated copy of the body per request.
    const prefix = `${webhookId}.${timestamp}.`;
    let signature = '';
    for (const key of this.#keys) {
      if (signature !== '') signature += ' ';
      const hmac = createHmac('sha256', key).update(prefix, 'utf8');
      signature += `v1,${(typeof body === 'string' ? hmac.update(body, 'utf8') : hmac.update(body)).digest('base64')}`;
    }
    return signature;
  }
}

let lastSecond = -1;
let lastText = '';

/** The current Unix time in seconds as text (made once per second, not per request). */
export function timestampNow(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = String(second);
  }
  return lastText;
}
