// The peer of webhook delivery through the engine: what a hand-written
// Standard Webhooks sender does per request (a fresh id and timestamp, the
// HMAC over them and the body, the request on raw undici, the answer read).
// One module, so the bench and its probes measure the very same peer.

import { createHmac } from 'node:crypto';
import type { Pool } from 'undici';

/** A function sending `body` once, signed with `secret` (whsec_…), on `raw`. */
export function signedPeer(raw: Pool, secret: string, body: string): () => Promise<void> {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  let sent = 0;
  return async (): Promise<void> => {
    const id = `msg_${sent++}`;
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = `v1,${createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64')}`;
    const headers = ['user-agent', 'Hookwork-Webhook/0.1', 'content-type', 'application/json', 'webhook-id', id, 'webhook-timestamp', ts, 'webhook-signature', signature];
    const res = await raw.request({ path: '/hook', method: 'POST', body, headers });
    await res.body.dump();
  };
}
