// `hookwork/webhooks`: sending a webhook yourself: the target, the HTTP
// transport it sends through, Standard Webhooks signing, the SSRF guard and
// callback URLs (docs/webhooks.md). Re-exports only.

export { WebhookTarget, parseRetryAfter } from '../webhooks/sender.js';
export type { WebhookDeps, WebhookTargetOptions } from '../webhooks/sender.js';
export type { BodyFormat } from '../webhooks/body-format.js';
export { Callbacks, MemoryCallbackStore, hashToken } from '../webhooks/callbacks.js';
export type { CallbackRecord, CallbackReport, CallbackStore, CallbacksOptions, StoredCallback } from '../webhooks/callbacks.js';
export { HttpPools } from '../http/pools.js';
export type { HttpPoolsOptions } from '../http/pools.js';
export type { FormRequest, HttpLane, HttpTransport } from '../http/transport.js';
export { HTTP_METHODS } from '../http/methods.js';
export type { HttpMethod } from '../http/methods.js';
export { WebhookSigner, decodeSecret, decodeSecretKey, generateSecret, generateSigningKeyPair, publicKeyOf } from '../http/signing.js';
export type { SignatureHeaders } from '../http/signing.js';
export { SsrfGuard, parseCidr } from '../http/ssrf-guard.js';
export type { CheckedTarget, Resolver, SsrfGuardOptions } from '../http/ssrf-guard.js';
export type { EventRecord, OutboundTarget, RunResult, TemplateExtras } from '../handlers/target.js';
