// The console's sessions over real HTTP: a gateway token exchanged for an
// HttpOnly SameSite=Strict cookie and a CSRF token; every guard accepts the
// cookie; a state-changing request made with it needs the CSRF token; the
// role still rules; sessions expire, sign-out ends them, and a reload that
// rotates a token ends the sessions made from it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configSchema, type HookworkConfigInput } from '../../src/config/schema.js';
import { waitFor } from '../helpers/wait-for.js';
import { send, startGateway, type JsonReply, type TestGateway } from './gateway-helpers.js';

const TOKENS = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
  superuser: 'superuser-token-0123456789',
};
const config = (tokens: Record<string, string> = TOKENS): HookworkConfigInput => ({
  events: [{ id: '1001', name: 'upload' }],
  auth: { tokens: Object.entries(tokens).map(([role, token]) => ({ name: `${role}-1`, role: role as 'viewer', token })) },
});

interface Signed {
  cookie: string;
  csrf: string;
  reply: JsonReply;
}

async function signIn(url: string, token: string): Promise<Signed> {
  const reply = await send(url, 'POST', '/v1/session', { json: { token } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const setCookie = String(reply.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0] as string, csrf: reply.body['csrf_token'] as string, reply };
}

let g: TestGateway;
before(async () => {
  g = await startGateway(config());
});
after(() => g.close());

test('POST /v1/session exchanges a token for an HttpOnly SameSite=Strict cookie, the principal, a CSRF token and the expiry', async () => {
  const { cookie, csrf, reply } = await signIn(g.url, TOKENS.operator);
  const setCookie = String(reply.headers['set-cookie']);
  assert.match(cookie, /^hkw_session=[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.match(setCookie, /; HttpOnly; SameSite=Strict; Path=\/; Max-Age=28800$/, 'the default 8h; no Secure over plain HTTP');
  assert.deepEqual(reply.body['principal'], { name: 'operator-1', role: 'operator' });
  assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
  const expires = Date.parse(reply.body['expires_at'] as string);
  assert.ok(expires > Date.now() + 7.9 * 3600_000 && expires <= Date.now() + 8 * 3600_000);
  assert.ok(!JSON.stringify(reply.body).includes(TOKENS.operator), 'the token is never echoed');

  // A page reload asks again (the CSRF token lives in page memory only).
  const again = await send(g.url, 'GET', '/v1/session', { headers: { cookie } });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, reply.body);
});

test('a wrong token gets 401 and no cookie; no cookie or an unknown one gets 401 from GET /v1/session; the sign-in body is capped', async () => {
  const wrong = await send(g.url, 'POST', '/v1/session', { json: { token: 'not-a-configured-token' } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body['code'], 'HKW_ERR_UNAUTHENTICATED');
  assert.equal(wrong.headers['set-cookie'], undefined);
  assert.equal((await send(g.url, 'GET', '/v1/session')).status, 401);
  const unknown = await send(g.url, 'GET', '/v1/session', { headers: { cookie: 'hkw_session=forged' } });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body['code'], 'HKW_ERR_UNAUTHENTICATED');
  const big = await send(g.url, 'POST', '/v1/session', { json: { token: 'x'.repeat(5000) } });
  assert.equal(big.status, 413);
  const form = await send(g.url, 'POST', '/v1/session', { body: `token=${TOKENS.operator}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(form.status, 415, 'a cross-site form cannot sign in');
});

test('every guard accepts the cookie; a state-changing request with it needs X-CSRF-Token (403 HKW_ERR_CSRF without or with another)', async () => {
  const { cookie, csrf } = await signIn(g.url, TOKENS.operator);
  assert.equal((await send(g.url, 'GET', '/v1/deliveries', { headers: { cookie } })).status, 200);
  assert.equal((await send(g.url, 'GET', '/v1/stats', { headers: { cookie } })).status, 200);

  const missing = await send(g.url, 'POST', '/v1/events', { json: { id: '1001' }, headers: { cookie } });
  assert.equal(missing.status, 403);
  assert.equal(missing.body['code'], 'HKW_ERR_CSRF');
  assert.match(missing.body['message'] as string, /X-CSRF-Token/);
  const other = (await signIn(g.url, TOKENS.operator)).csrf;
  const wrong = await send(g.url, 'POST', '/v1/events', { json: { id: '1001' }, headers: { cookie, 'x-csrf-token': other } });
  assert.equal(wrong.status, 403, "another session's CSRF token does not count");
  assert.equal(wrong.body['code'], 'HKW_ERR_CSRF');

  const ok = await send(g.url, 'POST', '/v1/events', { json: { id: '1001' }, headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(ok.status, 202);
  // A bearer token needs no CSRF token (no browser sends it on its own), and it wins over a cookie.
  const bearer = await send(g.url, 'POST', '/v1/events', { json: { id: '1001' }, headers: { cookie, authorization: `Bearer ${TOKENS.operator}` } });
  assert.equal(bearer.status, 202);
});

test('a forged state-changing request with a viewer session is refused 403, with or without the CSRF token', async () => {
  const { cookie, csrf } = await signIn(g.url, TOKENS.viewer);
  assert.equal((await send(g.url, 'GET', '/v1/stats', { headers: { cookie } })).status, 200, 'a viewer reads');
  const forged = await send(g.url, 'POST', '/v1/deliveries/targets/any/disable', { headers: { cookie } });
  assert.equal(forged.status, 403);
  assert.equal(forged.body['code'], 'HKW_ERR_CSRF');
  const withCsrf = await send(g.url, 'POST', '/v1/deliveries/targets/any/disable', { headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(withCsrf.status, 403);
  assert.equal(withCsrf.body['code'], 'HKW_ERR_FORBIDDEN');
  const reload = await send(g.url, 'POST', '/v1/config/reload', { headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(reload.status, 403);
  assert.equal(reload.body['code'], 'HKW_ERR_FORBIDDEN');
});

test('sign-out (DELETE /v1/session, with the CSRF token) ends the session and clears the cookie', async () => {
  const { cookie, csrf } = await signIn(g.url, TOKENS.superuser);
  const forged = await send(g.url, 'DELETE', '/v1/session', { headers: { cookie } });
  assert.equal(forged.status, 403, 'another site cannot sign the operator out');
  assert.equal(forged.body['code'], 'HKW_ERR_CSRF');
  assert.equal((await send(g.url, 'GET', '/v1/session', { headers: { cookie } })).status, 200);

  const out = await send(g.url, 'DELETE', '/v1/session', { headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(out.status, 204);
  assert.match(String(out.headers['set-cookie']), /^hkw_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0/);
  assert.equal((await send(g.url, 'GET', '/v1/session', { headers: { cookie } })).status, 401);
  const after = await send(g.url, 'GET', '/v1/stats', { headers: { cookie } });
  assert.equal(after.status, 401);
  assert.equal(after.body['code'], 'HKW_ERR_UNAUTHENTICATED');
  assert.match(after.body['message'] as string, /sign in again/);
  // Signing out again (or with a session long gone) still answers 204.
  assert.equal((await send(g.url, 'DELETE', '/v1/session', { headers: { cookie } })).status, 204);
});

test('a config reload that rotates a token ends its sessions; sessions of unchanged tokens live on', async () => {
  const viewer = await signIn(g.url, TOKENS.viewer);
  const operator = await signIn(g.url, TOKENS.operator);
  const report = await g.runtime.reload(config({ ...TOKENS, operator: 'operator-token-ROTATED-0123' }));
  assert.ok(report.applied.includes('auth'), JSON.stringify(report));
  assert.equal((await send(g.url, 'GET', '/v1/session', { headers: { cookie: operator.cookie } })).status, 401);
  assert.equal((await send(g.url, 'GET', '/v1/deliveries', { headers: { cookie: operator.cookie } })).status, 401);
  assert.equal((await send(g.url, 'GET', '/v1/session', { headers: { cookie: viewer.cookie } })).status, 200);
  // Removing the viewer's token ends the viewer's session too.
  await g.runtime.reload(config({ operator: 'operator-token-ROTATED-0123' }));
  assert.equal((await send(g.url, 'GET', '/v1/session', { headers: { cookie: viewer.cookie } })).status, 401);
  await g.runtime.reload(config());
});

test('a session expires after ui.session_ttl (401 afterwards); the TTL takes seconds or a duration', async () => {
  assert.equal(configSchema.parse({}).ui.session_ttl, 8 * 3600);
  assert.equal(configSchema.parse({ ui: { session_ttl: '30m' } }).ui.session_ttl, 1800);
  assert.equal(configSchema.parse({ ui: { session_ttl: 90 } }).ui.session_ttl, 90);
  assert.equal(configSchema.safeParse({ ui: { session_ttl: 'soon' } }).success, false);

  const short = await startGateway({ ...config(), ui: { session_ttl: 0.3 } });
  try {
    const { cookie } = await signIn(short.url, TOKENS.operator);
    assert.equal((await send(short.url, 'GET', '/v1/deliveries', { headers: { cookie } })).status, 200);
    const expired = await waitFor(async () => {
      const reply = await send(short.url, 'GET', '/v1/deliveries', { headers: { cookie } });
      return reply.status === 401 ? reply : undefined;
    }, 'the session to expire');
    assert.equal(expired.body['code'], 'HKW_ERR_UNAUTHENTICATED');
    assert.equal((await send(short.url, 'GET', '/v1/session', { headers: { cookie } })).status, 401);
  } finally {
    await short.close();
  }
});

test('ui.enabled false: no session routes (404) and a session cookie is not accepted', async () => {
  const off = await startGateway({ ...config(), ui: { enabled: false } });
  try {
    assert.equal((await send(off.url, 'POST', '/v1/session', { json: { token: TOKENS.operator } })).status, 404);
    assert.equal((await send(off.url, 'GET', '/v1/session')).status, 404);
    assert.equal((await send(off.url, 'DELETE', '/v1/session')).status, 404);
    const { cookie } = await signIn(g.url, TOKENS.operator); // a real session id, of another gateway
    const reply = await send(off.url, 'GET', '/v1/deliveries', { headers: { cookie } });
    assert.equal(reply.status, 401);
    assert.match(reply.body['message'] as string, /Bearer/);
  } finally {
    await off.close();
  }
});
