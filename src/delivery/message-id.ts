// Standard Webhooks message ids (`msg_` + 16 random bytes, base64url), one per
// delivery and kept on every retry. The random bytes come from a pooled
// buffer refilled 256 ids at a time: a randomBytes() call per id cost more
// than the rest of enqueueing it.

import { randomFillSync } from 'node:crypto';

const ID_BYTES = 16;
const pool = Buffer.allocUnsafe(ID_BYTES * 256);
let offset = pool.length;
// Encoded after the prefix in one scratch buffer and read out flat (see id-text.ts).
const PREFIX = 'msg_';
const BASE64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1');
const text = Buffer.alloc(PREFIX.length + Math.ceil((ID_BYTES * 8) / 6), PREFIX, 'latin1');

export function newWebhookId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const p = pool;
  let at = PREFIX.length;
  let i = offset;
  const end = offset + ID_BYTES - 1; // 16 bytes: five groups of three, then one left over
  for (; i < end; i += 3) {
    const bits = ((p[i] as number) << 16) | ((p[i + 1] as number) << 8) | (p[i + 2] as number);
    text[at++] = BASE64URL[bits >>> 18] as number;
    text[at++] = BASE64URL[(bits >>> 12) & 63] as number;
    text[at++] = BASE64URL[(bits >>> 6) & 63] as number;
    text[at++] = BASE64URL[bits & 63] as number;
  }
  const last = p[i] as number;
  text[at++] = BASE64URL[last >>> 2] as number;
  text[at] = BASE64URL[(last & 3) << 4] as number;
  offset += ID_BYTES;
  return text.toString('latin1');
}
