// Rotating a webhook target's signing secret from the API
// (POST /v1/targets/:name/secret/rotate). The new secret signs at once; the
// ones before it keep signing beside it (one signature each, Standard
// Webhooks) until the overlap ends, so receivers can switch without a
// window where they refuse requests. The rotation is kept in the delivery
// store, so it survives restarts and every node reads it: each node reads
// the store's secrets every few seconds and when its targets are rebuilt
// (a config reload), and drops the old secrets once the overlap is over.

import type { Logger } from '../logger.js';
import type { DeliveryStore, TargetSecretsRecord } from '../delivery/store.js';
import { InvalidArgumentError, SecretRotationError, TargetNotFoundError } from '../errors.js';
import type { OutboundTarget } from '../handlers/target.js';
import { checkSigningSecret, generateSecret, generateSigningKeyPair, publicKeyOf } from '../http/signing.js';
import { WebhookSigner } from '../http/signing.js';
import { WebhookTarget } from '../webhooks/sender.js';

export interface RotateOptions {
  /** How long the secrets before it keep signing, ms. */
  readonly overlapMs: number;
  /** The new secret (`whsec_` or `whsk_`, the kind of the current one); default: a fresh one. */
  readonly secret?: string;
}

export interface RotateResult {
  readonly target: string;
  /** The new `whsec_` secret: the one time it is shown (receivers need it). */
  readonly secret?: string;
  /** For a `whsk_` key: the `whpk_` public key receivers verify with (the secret key is never shown). */
  readonly publicKey?: string;
  /** When the secrets before it stop signing, ms since the epoch. */
  readonly previousUntil: number;
}

/** Default overlap when the request names none: a day. */
export const DEFAULT_OVERLAP_MS = 86_400_000;
/** How often each node reads the store's secrets. */
export const SECRETS_POLL_MS = 5_000;

const isAsymmetric = (secret: string): boolean => secret.startsWith('whsk_');

export class SecretRotation {
  readonly #store: DeliveryStore;
  readonly #targets: () => ReadonlyMap<string, OutboundTarget>;
  readonly #log: Logger;
  #records = new Map<string, TargetSecretsRecord>();
  #timer: NodeJS.Timeout | undefined;

  constructor(store: DeliveryStore, targets: () => ReadonlyMap<string, OutboundTarget>, log: Logger) {
    this.#store = store;
    this.#targets = targets;
    this.#log = log;
  }

  /** Reads the store's rotations and applies them. */
  async refresh(now = Date.now()): Promise<void> {
    if (this.#store.targetSecrets === undefined) return;
    const records = await this.#store.targetSecrets();
    this.#records = new Map(records.map((r) => [r.target, r]));
    this.apply(now);
  }

  /** Signs each webhook target with its rotated secrets (the previous ones too while their overlap lasts), or its config's. */
  apply(now = Date.now()): void {
    for (const target of this.#targets().values()) {
      if (!(target instanceof WebhookTarget)) continue;
      target.useSecrets(this.#active(target, now));
    }
  }

  #active(target: WebhookTarget, now: number): readonly string[] {
    const record = this.#records.get(target.name);
    if (record === undefined) return target.configSecrets;
    return now < record.previousUntil ? [...record.secrets, ...record.previous] : record.secrets;
  }

  async rotate(name: string, options: RotateOptions, now = Date.now()): Promise<RotateResult> {
    const target = this.#targets().get(name);
    if (target === undefined) throw new TargetNotFoundError(name);
    if (!(target instanceof WebhookTarget)) throw new SecretRotationError(name, `it is a ${target.kind} target; only webhooks sign`);
    if (this.#store.setTargetSecrets === undefined) throw new SecretRotationError(name, 'the delivery store cannot keep secrets');
    if (!Number.isFinite(options.overlapMs) || options.overlapMs < 0) throw new InvalidArgumentError('overlap must be a number of seconds, 0 or more.');
    // What it signs with now: the stored rotation's current secrets, or the config's.
    const current = this.#records.get(name)?.secrets ?? target.configSecrets;
    const first = current[0];
    if (first === undefined) throw new SecretRotationError(name, 'it signs with no secret; give it `secrets` in the config first');
    const asymmetric = isAsymmetric(first);
    let secret = options.secret;
    if (secret !== undefined) {
      checkSigningSecret(secret);
      if (isAsymmetric(secret) !== asymmetric) throw new SecretRotationError(name, `it signs with ${asymmetric ? 'whsk_ (ed25519)' : 'whsec_ (HMAC)'} secrets; give one of that kind`);
    } else {
      secret = asymmetric ? generateSigningKeyPair().secret : generateSecret();
    }
    // Fails here, not on the next request, if the secret cannot sign.
    new WebhookSigner([secret]);
    const record: TargetSecretsRecord = { target: name, secrets: [secret], previous: [...current], previousUntil: now + options.overlapMs, rotatedAt: now };
    await this.#store.setTargetSecrets(record);
    this.#records.set(name, record);
    this.apply(now);
    this.#log.info({ target: name, previousUntil: new Date(record.previousUntil).toISOString() }, 'Signing secret rotated');
    return asymmetric ? { target: name, publicKey: publicKeyOf(secret), previousUntil: record.previousUntil } : { target: name, secret, previousUntil: record.previousUntil };
  }

  /** Reads the store now and every SECRETS_POLL_MS (rotations on other nodes, overlaps ending). */
  async start(pollMs = SECRETS_POLL_MS): Promise<void> {
    await this.refresh().catch((err: unknown) => this.#log.warn({ err }, 'Could not read the rotated signing secrets; the config secrets sign until the next read'));
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.#log.warn({ err }, 'Could not read the rotated signing secrets'));
    }, pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
