// Standard Webhooks message ids (`msg_` + 16 random bytes, base64url), one per
// delivery and kept on every retry. The random bytes come from a pooled
// buffer refilled 256 ids at a time: a randomBytes() call per id cost more
// than the rest of enqueueing it.

import { randomFillSync } from 'node:crypto';

const ID_BYTES = 16;
const pool = Buffer.allocUnsafe(ID_BYTES * 256);
let offset = pool.length;

export function newWebhookId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `msg_${id}`;
}
