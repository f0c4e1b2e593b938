// POST /v1/targets/:name/secret/rotate against real gateways sharing one
// SQLite store: the new secret and the old one both sign during the
// overlap, only the new one after; the rotation survives a restart and
// reaches another node through the store.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, verify } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { generateSecret, generateSigningKeyPair } from '../../src/http/signing.js';
import { startGateway, send, type TestGateway } from './gateway-helpers.js';
import { startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const ADMIN = 'superuser-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const S0 = generateSecret();
const pair = generateSigningKeyPair();
let receiver: Receiver;
let dataDir: string;
let a: TestGateway;
let b: TestGateway;

function config(): HookworkConfigInput {
  return {
    server: { data_dir: dataDir },
    auth: { tokens: [{ name: 'root', role: 'superuser', token: ADMIN }, { name: 'ops', role: 'operator', token: OPERATOR }] },
    ssrf: { allow: ['127.0.0.1/32'] },
    events: [{ id: '9001', name: 'invoice-paid', example: { invoice: 'INV-1' } }],
    handlers: [
      { type: 'webhook', name: 'billing', url: `${receiver.url}/billing`, target_events: ['9001'], secrets: [S0] },
      { type: 'webhook', name: 'signed-ed', url: `${receiver.url}/ed`, target_events: ['9001'], secrets: [pair.secret] },
      { type: 'webhook', name: 'unsigned', url: `${receiver.url}/plain`, target_events: ['9001'] },
      { type: 'command', name: 'cmd', command: '/bin/true', target_events: ['9001'] },
    ],
  };
}

before(async () => {
  receiver = await startReceiver();
  dataDir = await mkdtemp(join(tmpdir(), 'hookwork-rotation-'));
  a = await startGateway(config());
  b = await startGateway(config());
});

after(async () => {
  await a.close();
  await b.close();
  await receiver.close();
  await rm(dataDir, { recursive: true, force: true });
});

const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** A test send through `gw`; the request the receiver got. */
async function probe(gw: TestGateway, target = 'handler:billing'): Promise<ReceivedRequest> {
  const before = receiver.requests.length;
  const reply = await send(gw.url, 'POST', `/v1/targets/${target}/test`, { headers: as(OPERATOR) });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return (await receiver.waitFor(before + 1))[before] as ReceivedRequest;
}

function signatures(req: ReceivedRequest): string[] {
  return String(req.headers['webhook-signature']).split(' ');
}

function verifies(secret: string, req: ReceivedRequest): boolean {
  // standardwebhooks accepts a request when any of its v1 signatures is this secret's.
  try {
    new Webhook(secret).verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

test('rotation: old and new both sign during the overlap; the other node and a restart sign with the new one; after the overlap only the new', async () => {
  assert.deepEqual(signatures(await probe(a)).length, 1);
  const rotated = await send(a.url, 'POST', '/v1/targets/handler:billing/secret/rotate', { headers: as(ADMIN), json: { overlap: 3600 } });
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const S1 = rotated.body['secret'] as string;
  assert.match(S1, /^whsec_/);
  assert.ok(Date.parse(rotated.body['previous_until'] as string) > Date.now() + 3500_000);

  const during = await probe(a);
  assert.equal(signatures(during).length, 2);
  assert.ok(verifies(S1, during) && verifies(S0, during), 'both secrets sign');

  // Node b reads the rotation from the shared store (its next poll).
  await waitFor(async () => signatures(await probe(b)).length === 2 || undefined, { what: 'node b signing with both secrets', timeoutMs: 15_000, intervalMs: 250 });
  assert.ok(verifies(S1, receiver.requests.at(-1) as ReceivedRequest));

  // Rotate again with no overlap: S1 stops at once on a, and within a poll on b; S0 is gone for good.
  const again = await send(a.url, 'POST', '/v1/targets/handler:billing/secret/rotate', { headers: as(ADMIN), json: { overlap: 0 } });
  const S2 = again.body['secret'] as string;
  const after = await probe(a);
  assert.deepEqual([signatures(after).length, verifies(S2, after), verifies(S1, after), verifies(S0, after)], [1, true, false, false]);
  await waitFor(async () => (verifies(S2, await probe(b)) && signatures(receiver.requests.at(-1) as ReceivedRequest).length === 1) || undefined, { what: 'node b signing with S2 alone', timeoutMs: 15_000, intervalMs: 250 });

  // A restart keeps the rotated secret (the config still says S0).
  await b.close();
  b = await startGateway(config());
  const restarted = await probe(b);
  assert.deepEqual([signatures(restarted).length, verifies(S2, restarted)], [1, true]);
});

test('rotation of an ed25519 key answers only the whpk_ public key; the new v1a signature verifies with it', async () => {
  const reply = await send(a.url, 'POST', '/v1/targets/handler:signed-ed/secret/rotate', { headers: as(ADMIN), json: { overlap: 60 } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body['secret'], undefined, 'a secret key is never shown');
  const publicKey = reply.body['public_key'] as string;
  assert.match(publicKey, /^whpk_/);
  const req = await probe(a, 'handler:signed-ed');
  const parts = signatures(req);
  assert.equal(parts.length, 2);
  const message = Buffer.from(`${String(req.headers['webhook-id'])}.${String(req.headers['webhook-timestamp'])}.${req.body}`);
  const check = (whpk: string, sig: string): boolean =>
    verify(null, message, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(whpk.slice(5), 'base64').toString('base64url') }, format: 'jwk' }), Buffer.from(sig.slice(4), 'base64'));
  assert.ok(check(publicKey, parts[0] as string), 'the new key signs first');
  assert.ok(check(pair.publicKey, parts[1] as string), 'the old key still signs');
});

test('rotation is refused: operator 403, a command 409, a webhook without secrets 409, a secret of the other kind 409, unknown target 404', async () => {
  const operator = await send(a.url, 'POST', '/v1/targets/handler:billing/secret/rotate', { headers: as(OPERATOR) });
  assert.equal(operator.status, 403);
  for (const [target, body] of [
    ['handler:cmd', undefined],
    ['handler:unsigned', undefined],
    ['handler:billing', { secret: generateSigningKeyPair().secret }],
  ] as const) {
    const reply = await send(a.url, 'POST', `/v1/targets/${target}/secret/rotate`, { headers: as(ADMIN), ...(body === undefined ? {} : { json: body }) });
    assert.equal(reply.status, 409, `${target}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body['code'], 'HKW_ERR_SECRET_ROTATION');
  }
  const missing = await send(a.url, 'POST', '/v1/targets/handler:nope/secret/rotate', { headers: as(ADMIN) });
  assert.equal(missing.status, 404);
  // The admin API never shows the secrets: the config reply has none of them.
  const shown = await send(a.url, 'GET', '/v1/config', { headers: as(ADMIN) });
  assert.doesNotMatch(JSON.stringify(shown.body), new RegExp(S0.slice(6, 20).replace(/[+/]/g, '.')));
});
