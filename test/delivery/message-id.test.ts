import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newWebhookId } from '../../src/delivery/message-id.js';

test('webhook ids are msg_ + 16 random bytes in unpadded base64url, each one different', () => {
  const ids = Array.from({ length: 2000 }, () => newWebhookId());
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) {
    assert.match(id, /^msg_[A-Za-z0-9_-]{22}$/);
    const bytes = Buffer.from(id.slice(4), 'base64url');
    assert.equal(bytes.length, 16);
    // The encoding is the standard one: decoding and encoding again gives the same text.
    assert.equal(`msg_${bytes.toString('base64url')}`, id);
  }
  // Every alphabet character turns up (the encoder reaches all 64 values), and the pool's refills differ.
  const seen = new Set(ids.join('').slice(4));
  for (const c of 'AZaz09-_') assert.ok(ids.some((id) => id.slice(4).includes(c)), `character ${c}`);
  assert.ok(seen.size > 60);
});
