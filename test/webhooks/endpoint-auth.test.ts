// Endpoint authentication and transport of webhook targets against real
// local servers: a TLS receiver that requires a client certificate (mTLS,
// private CA), basic and bearer auth from the environment, an OAuth2 token
// endpoint, a CONNECT proxy, and ed25519 (`v1a`) signatures.

import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createPublicKey, verify } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { HttpPools } from '../../src/http/pools.js';
import { SenderThread } from '../../src/http/sender-thread.js';
import { generateSecret, generateSigningKeyPair } from '../../src/http/signing.js';
import { SsrfGuard } from '../../src/http/ssrf-guard.js';
import type { HttpTransport } from '../../src/http/transport.js';
import { webhookAuthFromConfig } from '../../src/webhooks/auth-from-config.js';
import { webhookHandlerSchema } from '../../src/webhooks/config-schema.js';
import { OAuth2Token } from '../../src/webhooks/oauth2.js';
import { WebhookTarget, type WebhookTargetOptions } from '../../src/webhooks/sender.js';
import { attemptContext, useReceiver } from '../helpers/receiver.js';
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js';

const receiver = useReceiver();
const ssrf = new SsrfGuard({ allow: ['127.0.0.1/32'] });
const pools = new HttpPools();
const thread = new SenderThread();
const event = Object.freeze({ id: '100', name: 'file-uploaded', data: { path: '/in/a.txt' } });

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  clientCn: string | undefined;
}

let pki: TestPki;
let tlsServer: Server;
let tlsUrl: string;
const tlsSeen: Seen[] = [];

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

before(async () => {
  pki = await makeTestPki();
  // Refuses a handshake without a client certificate signed by the test CA.
  tlsServer = createHttpsServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const cert = (req.socket as TLSSocket).getPeerCertificate();
    tlsSeen.push({ url: req.url ?? '', headers: req.headers, clientCn: typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined });
    req.resume();
    req.on('end', () => res.writeHead(200).end('tls ok'));
  });
  tlsUrl = `https://127.0.0.1:${await listen(tlsServer)}`;
});

after(async () => {
  await Promise.all([pools.close(), thread.close()]);
  await new Promise((resolve) => tlsServer.close(resolve));
  await pki.cleanup();
});

function target(http: HttpTransport, options: Partial<WebhookTargetOptions>): WebhookTarget {
  return new WebhookTarget({ name: 'auth', url: `${receiver.url}/hook`, ...options }, { http, ssrf });
}

for (const [kind, http] of [
  ['this thread', pools],
  ['the sender thread', thread],
] as const) {
  test(`mTLS through ${kind}: the client certificate from the config reaches a receiver that requires one; without it the handshake fails`, async () => {
    const before = tlsSeen.length;
    const auth = webhookAuthFromConfig(
      { tls: { cert_file: 'client.pem', key_file: 'client-key.pem', ca_env: 'TEST_CA' } },
      { where: 'handlers.0', env: { TEST_CA: pki.ca }, resolvePath: (p) => join(pki.dir, p), ssrf, timeoutMs: 5000 },
    );
    const ok = await target(http, { url: `${tlsUrl}/mtls`, ...auth }).run(event, attemptContext());
    assert.equal(ok.ok, true, ok.error);
    assert.equal(ok.response, 'tls ok');
    assert.equal(tlsSeen.length, before + 1);
    assert.equal(tlsSeen.at(-1)?.clientCn, 'hookwork-client');

    // The CA alone: the server refuses the handshake, the attempt fails (retryably) and nothing arrives.
    const refused = await target(http, { url: `${tlsUrl}/mtls`, transport: { ca: pki.ca } }).run(event, attemptContext());
    assert.equal(refused.ok, false);
    assert.equal(refused.retryable, true);
    // And without the private CA the server's certificate is not trusted.
    const untrusted = await target(http, { url: `${tlsUrl}/mtls`, transport: { cert: pki.clientCert, key: pki.clientKey } }).run(event, attemptContext());
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.error ?? '', /certificate/i);
    assert.equal(tlsSeen.length, before + 1);
  });
}

test('basic and bearer auth come from the environment; a configured authorization header is replaced; a missing variable is a config problem without the value', async () => {
  const context = { where: 'handlers.2', resolvePath: (p: string) => p, ssrf, timeoutMs: 5000 };
  const basic = webhookAuthFromConfig({ auth: { type: 'basic', username: 'hook', password_env: 'HOOK_PW' } }, { ...context, env: { HOOK_PW: 's3cret' } });
  const bearer = webhookAuthFromConfig({ auth: { type: 'bearer', token_env: 'HOOK_TOKEN' } }, { ...context, env: { HOOK_TOKEN: 'tok-123' } });
  for (const http of [pools, thread]) {
    await target(http, { headers: { Authorization: 'Bearer configured' }, ...basic }).run(event, attemptContext());
    await target(http, bearer).run(event, attemptContext());
  }
  const got = (await receiver.waitFor(4)).map((r) => r.headers.authorization);
  const basicValue = `Basic ${Buffer.from('hook:s3cret').toString('base64')}`;
  assert.deepEqual(got, [basicValue, 'Bearer tok-123', basicValue, 'Bearer tok-123']);

  assert.throws(
    () => webhookAuthFromConfig({ auth: { type: 'bearer', token_env: 'NOT_SET_HOOK_TOKEN' } }, { ...context, env: {} }),
    (err: unknown) => err instanceof ConfigError && /handlers\.2\.auth\.token_env/.test(JSON.stringify(err.problems)) && /NOT_SET_HOOK_TOKEN/.test(err.message),
  );
});

test('the config schema takes tls, auth and proxy, and refuses a key without a certificate and a proxy URL with credentials', () => {
  const base = { type: 'webhook', name: 'w', url: 'https://hooks.example/x' };
  const parsed = webhookHandlerSchema.parse({
    ...base,
    tls: { cert_env: 'C', key_env: 'K', ca_file: 'ca.pem' },
    auth: { type: 'oauth2', token_url: 'https://auth.example/token', client_id: 'hookwork', client_secret_env: 'S', scope: 'hooks' },
    proxy: 'http://proxy.internal:3128',
  });
  assert.equal(parsed.auth?.type, 'oauth2');
  assert.equal(webhookHandlerSchema.safeParse({ ...base, tls: { key_env: 'K' } }).success, false);
  assert.equal(webhookHandlerSchema.safeParse({ ...base, proxy: 'http://user:pw@proxy.internal:3128' }).success, false);
  assert.equal(webhookHandlerSchema.safeParse({ ...base, auth: { type: 'bearer', token: 'inline' } }).success, false);
});

/** A token endpoint that counts its fetches and hands out tok-1, tok-2 …; the receiver accepts only the latest. */
async function tokenEndpoint(): Promise<{ url: string; fetches: () => number; latest: () => string; bodies: string[]; close: () => Promise<void> }> {
  let count = 0;
  const bodies: string[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      count += 1;
      bodies.push(`${req.headers.authorization ?? ''} ${body}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `tok-${count}`, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    fetches: () => count,
    latest: () => `tok-${count}`,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('OAuth2 client credentials: the token is fetched once and cached; a 401 fetches a new one and resends once', async (t) => {
  const endpoint = await tokenEndpoint();
  t.after(() => endpoint.close());
  let valid = 'tok-1';
  receiver.respond((req, res) => {
    res.writeHead(req.headers.authorization === `Bearer ${valid}` ? 200 : 401).end();
  });
  const oauth2 = new OAuth2Token({ tokenUrl: endpoint.url, clientId: 'hook work', clientSecret: 'sec:ret', scope: 'hooks', timeoutMs: 5000 }, ssrf);
  const hook = target(thread, { oauth2 });

  assert.equal((await hook.run(event, attemptContext())).ok, true);
  assert.equal((await hook.run(event, attemptContext())).ok, true);
  assert.equal(endpoint.fetches(), 1, 'the cached token served both');
  // client_secret_basic with the parts form-encoded; grant and scope in the form.
  assert.equal(endpoint.bodies[0], `Basic ${Buffer.from('hook%20work:sec%3Aret').toString('base64')} grant_type=client_credentials&scope=hooks`);

  // The receiver revokes tok-1: the next attempt gets a 401, fetches tok-2 and resends.
  valid = 'tok-2';
  const refreshed = await hook.run(event, attemptContext());
  assert.equal(refreshed.ok, true, refreshed.error);
  assert.equal(endpoint.fetches(), 2);
  assert.deepEqual(receiver.requests.slice(-2).map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-2']);

  // A receiver that refuses every token: one refresh, one resend, then the 401 is the outcome.
  valid = 'never';
  const refused = await hook.run(event, attemptContext());
  assert.equal(refused.ok, false);
  assert.equal(refused.httpStatus, 401);
  assert.equal(endpoint.fetches(), 3);
});

test('OAuth2: a token endpoint that fails makes the attempt fail retryably, with no token in the error', async (t) => {
  const server = createHttpServer((_req, res) => res.writeHead(500).end('down'));
  const port = await listen(server);
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const oauth2 = new OAuth2Token({ tokenUrl: `http://127.0.0.1:${port}/token`, clientId: 'c', clientSecret: 'very-secret', timeoutMs: 5000 }, ssrf);
  const result = await target(pools, { oauth2 }).run(event, attemptContext());
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error ?? '', /OAuth2 token.*answered 500/);
  assert.doesNotMatch(result.error ?? '', /very-secret/);
  assert.equal(receiver.requests.length, 0);
});

/** A CONNECT proxy that records the authorities it tunnelled to. */
async function connectProxy(): Promise<{ url: string; tunnels: string[]; close: () => Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((_req: IncomingMessage, res: ServerResponse) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host as string, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

for (const [kind, http] of [
  ['this thread', pools],
  ['the sender thread', thread],
] as const) {
  test(`an outbound proxy through ${kind}: requests tunnel through it (plain and mTLS receivers)`, async (t) => {
    const proxy = await connectProxy();
    t.after(() => proxy.close());
    const plain = await target(http, { transport: { proxy: proxy.url } }).run(event, attemptContext());
    assert.equal(plain.ok, true, plain.error);
    assert.equal(receiver.requests.length, 1);
    assert.deepEqual(proxy.tunnels, [`127.0.0.1:${receiver.port}`]);

    const seen = tlsSeen.length;
    const tls = await target(http, { url: `${tlsUrl}/via-proxy`, transport: { proxy: proxy.url, cert: pki.clientCert, key: pki.clientKey, ca: pki.ca } }).run(event, attemptContext());
    assert.equal(tls.ok, true, tls.error);
    assert.equal(tlsSeen.at(-1)?.clientCn, 'hookwork-client');
    assert.equal(tlsSeen.length, seen + 1);
    assert.equal(proxy.tunnels.length, 2);
  });
}

test('the SSRF guard still checks the target through a proxy', async () => {
  const strict = new SsrfGuard();
  const hook = new WebhookTarget({ name: 'ssrf', url: `${receiver.url}/hook`, transport: { proxy: 'http://127.0.0.1:9' } }, { http: pools, ssrf: strict });
  const result = await hook.run(event, attemptContext());
  assert.equal(result.ok, false);
  assert.equal(result.retryable, false);
  assert.match(result.error ?? '', /SSRF|refus/i);
});

test('ed25519 (v1a) signatures beside HMAC (v1): the receiver verifies v1a with the whpk_ public key', async () => {
  const pair = generateSigningKeyPair();
  assert.match(pair.secret, /^whsk_/);
  assert.match(pair.publicKey, /^whpk_/);
  for (const http of [pools, thread]) {
    await target(http, { secrets: [generateSecret(), pair.secret] }).run(event, attemptContext());
  }
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pair.publicKey.slice('whpk_'.length), 'base64').toString('base64url') },
    format: 'jwk',
  });
  for (const req of await receiver.waitFor(2)) {
    const parts = String(req.headers['webhook-signature']).split(' ');
    assert.equal(parts.length, 2);
    assert.match(parts[0] as string, /^v1,/);
    assert.match(parts[1] as string, /^v1a,/);
    const message = Buffer.from(`${String(req.headers['webhook-id'])}.${String(req.headers['webhook-timestamp'])}.${req.body}`);
    assert.equal(verify(null, message, publicKey, Buffer.from((parts[1] as string).slice(4), 'base64')), true);
    assert.equal(verify(null, Buffer.from(`${message.toString()}x`), publicKey, Buffer.from((parts[1] as string).slice(4), 'base64')), false);
  }
  assert.equal(webhookHandlerSchema.safeParse({ type: 'webhook', name: 'w', url: 'https://h.example/x', secrets: [pair.secret] }).success, true);
  assert.equal(webhookHandlerSchema.safeParse({ type: 'webhook', name: 'w', url: 'https://h.example/x', secrets: ['whsk_AAAA'] }).success, false);
});

test('response headers come back with every attempt (the attempt log and test sends show them), on this thread and the sender thread', async () => {
  receiver.respond((_r, res) => res.writeHead(200, { 'x-one': 'a', 'set-cookie': ['c=1', 'd=2'] }).end('ok'));
  for (const http of [pools, thread]) {
    const hook = target(http, {});
    const result = await hook.run(event, attemptContext());
    assert.equal(result.responseHeaders?.['x-one'], 'a');
    // set-cookie carries a secret of the receiver's: redacted like cookie.
    assert.equal(result.responseHeaders?.['set-cookie'], '[redacted]');
  }
});
