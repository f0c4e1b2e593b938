// Standard Webhooks signing (https://www.standardwebhooks.com): every request
// carries webhook-id, webhook-timestamp and, with secrets, webhook-signature
// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for a symmetric `whsec_`
// secret, `v1a,<base64 ed25519 signature of "id.timestamp.body">` for an
// asymmetric `whsk_` secret key (receivers verify with its `whpk_` public
// key). Several secrets sign at once (one signature each, space-separated)
// so a secret can be rotated without a window where receivers reject requests.

import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

const PREFIX = 'whsec_';
const SECRET_KEY_PREFIX = 'whsk_';
const PUBLIC_KEY_PREFIX = 'whpk_';
/** PKCS#8 DER of an ed25519 private key, before its 32-byte seed. */
const ED25519_PKCS8_HEAD = Buffer.from('302e020100300506032b657004220420', 'hex');
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

/**
 * Decodes a `whsk_<base64>` ed25519 secret key: the 32-byte seed, or the
 * 64 bytes of seed and public key some libraries write; throws
 * InvalidArgumentError when malformed.
 */
export function decodeSecretKey(secret: string): KeyObject {
  const body = secret.slice(SECRET_KEY_PREFIX.length);
  if (!secret.startsWith(SECRET_KEY_PREFIX) || body.length === 0 || !BASE64.test(body)) {
    throw new InvalidArgumentError('An asymmetric webhook secret must look like "whsk_<base64 of the ed25519 key>"; generate one with generateSigningKeyPair().');
  }
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length !== 32 && bytes.length !== 64) {
    throw new InvalidArgumentError(`A "whsk_" secret must hold an ed25519 key of 32 bytes (or 64: key and public key), not ${bytes.length}.`);
  }
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_HEAD, bytes.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
}

/** Checks a signing secret of either kind (`whsec_` symmetric, `whsk_` ed25519); throws InvalidArgumentError when malformed. */
export function checkSigningSecret(secret: string): void {
  if (secret.startsWith(SECRET_KEY_PREFIX)) decodeSecretKey(secret);
  else decodeSecret(secret);
}

/** The `whpk_` public key receivers verify a `whsk_` secret's `v1a` signatures with. */
export function publicKeyOf(secret: string): string {
  const jwk = createPublicKey(decodeSecretKey(secret)).export({ format: 'jwk' });
  return PUBLIC_KEY_PREFIX + Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

/** A fresh ed25519 key pair: `secret` (`whsk_`) for the config, `publicKey` (`whpk_`) for the receiver. */
export function generateSigningKeyPair(): { secret: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const secret = SECRET_KEY_PREFIX + seed.toString('base64');
  return { secret, publicKey: publicKeyOf(secret) };
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
  /** An HMAC key (Buffer) or an ed25519 private key (KeyObject), in the secrets' order. */
  readonly #keys: ReadonlyArray<Buffer | KeyObject>;

  /** `secrets` in the `whsec_` or `whsk_` form; an empty list sends id and timestamp without a signature. */
  constructor(secrets: readonly string[] = []) {
    this.#keys = secrets.map((secret) => (secret.startsWith(SECRET_KEY_PREFIX) ? decodeSecretKey(secret) : decodeSecret(secret)));
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

  /** `v1,<sig>` (or `v1a,<sig>` for an ed25519 key) for each secret, space-separated ('' without secrets). */
  signature(webhookId: string, timestamp: string, body: string | Buffer): string {
    // Two updates: no concatenated copy of the body per request.
    const prefix = `${webhookId}.${timestamp}.`;
    let signature = '';
    for (const key of this.#keys) {
      if (signature !== '') signature += ' ';
      if (!Buffer.isBuffer(key)) {
        // ed25519 signs the whole message at once: one copy, only for asymmetric keys.
        const message = Buffer.concat([Buffer.from(prefix, 'utf8'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
        signature += `v1a,${sign(null, message, key).toString('base64')}`;
        continue;
      }
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
