// The console's files at /ui/, over real HTTP, from a fixture build folder
// (the real one is wc-ui's Vite build): the strict CSP and hardening headers
// on every reply, index.html for client-side routes, long-lived caching for
// hashed assets only, nothing outside the folder, 503 without a build, and
// nothing at all with ui.enabled false.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { CONSOLE_CSP } from '../../src/server/routes/ui.js';
import { rawRequest, send, startGateway, type TestGateway } from './gateway-helpers.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/ui/assets/app-3f2a9c.js"></script></head><body></body></html>';
const APP = 'console.log("console");';

let dir: string;
let g: TestGateway;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookwork-ui-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), INDEX);
  await writeFile(join(dir, 'assets', 'app-3f2a9c.js'), APP);
  await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(join(tmpdir(), 'hookwork-ui-outside.txt'), 'secret outside the build folder');
  g = await startGateway({}, undefined, { console: { uiDir: dir } });
});
after(async () => {
  await g.close();
  await rm(dir, { recursive: true, force: true });
  await rm(join(tmpdir(), 'hookwork-ui-outside.txt'), { force: true });
});

async function get(url: string, path: string, method: 'GET' | 'HEAD' = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const res = await request(`${url}${path}`, { method });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function assertHardened(headers: Record<string, unknown>, what: string): void {
  assert.equal(headers['content-security-policy'], CONSOLE_CSP, what);
  assert.equal(headers['x-content-type-options'], 'nosniff', what);
  assert.equal(headers['referrer-policy'], 'no-referrer', what);
  assert.equal(headers['x-frame-options'], 'DENY', what);
}

test('the CSP is the strict one: no inline script or style, no framing, nothing but this origin', () => {
  assert.equal(
    CONSOLE_CSP,
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  assert.ok(!CONSOLE_CSP.includes('unsafe'));
});

test('GET /ui/ serves index.html with the CSP, the hardening headers and no-cache; /ui redirects to /ui/', async () => {
  const index = await get(g.url, '/ui/');
  assert.equal(index.status, 200);
  assert.equal(index.text, INDEX);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assertHardened(index.headers, '/ui/');
  const head = await get(g.url, '/ui/', 'HEAD');
  assert.equal(head.status, 200);
  assertHardened(head.headers, 'HEAD /ui/');

  const redirect = await get(g.url, '/ui');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers['location'], '/ui/');
  assertHardened(redirect.headers, '/ui');
});

test('hashed assets are served with their type and cached for good; other files revalidate', async () => {
  const app = await get(g.url, '/ui/assets/app-3f2a9c.js');
  assert.equal(app.status, 200);
  assert.equal(app.text, APP);
  assert.equal(app.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(app.headers['cache-control'], 'public, max-age=31536000, immutable');
  assertHardened(app.headers, 'an asset');
  const icon = await get(g.url, '/ui/favicon.svg');
  assert.equal(icon.headers['content-type'], 'image/svg+xml');
  assert.equal(icon.headers['cache-control'], 'no-cache');
});

test('a path that is no file is a client-side route: index.html answers; nothing outside the build folder is served', async () => {
  for (const path of ['/ui/deliveries/d-123', '/ui/live?id=1001', '/ui/assets/missing.js']) {
    const reply = await get(g.url, path);
    assert.equal(reply.status, 200, path);
    assert.equal(reply.text, INDEX, path);
    assertHardened(reply.headers, path);
  }
  for (const path of ['/ui/../hookwork-ui-outside.txt', '/ui/%2e%2e/hookwork-ui-outside.txt', '/ui/..%2fhookwork-ui-outside.txt', '/ui/assets/..%2f..%2fhookwork-ui-outside.txt']) {
    const raw = await rawRequest(g.url, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(!raw.body.includes('secret outside'), path);
  }
});

test('without a build, /ui/ answers 503 HKW_ERR_UI_NOT_BUILT saying to run npm run build', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'hookwork-ui-empty-'));
  const unbuilt = await startGateway({}, undefined, { console: { uiDir: empty } });
  try {
    for (const path of ['/ui/', '/ui/overview']) {
      const reply = await send(unbuilt.url, 'GET', path);
      assert.equal(reply.status, 503, path);
      assert.equal(reply.body['code'], 'HKW_ERR_UI_NOT_BUILT');
      assert.match(reply.body['message'] as string, /npm run build/);
      assert.equal(reply.headers['content-security-policy'], CONSOLE_CSP);
    }
  } finally {
    await unbuilt.close();
    await rm(empty, { recursive: true, force: true });
  }
});

test('ui.enabled false removes every /ui route (404)', async () => {
  const off = await startGateway({ ui: { enabled: false } }, undefined, { console: { uiDir: dir } });
  try {
    for (const path of ['/ui', '/ui/', '/ui/assets/app-3f2a9c.js', '/ui/deliveries']) {
      const reply = await send(off.url, 'GET', path);
      assert.equal(reply.status, 404, path);
      assert.equal(reply.body['code'], 'HKW_ERR_NOT_FOUND');
    }
    assert.ok(!off.gateway.routes().some((r) => r.url.startsWith('/ui') || r.url === '/v1/session'));
  } finally {
    await off.close();
  }
});

test('the default build folder is dist/ui of the package', async () => {
  const { DEFAULT_UI_DIR } = await import('../../src/server/routes/ui.js');
  assert.equal(DEFAULT_UI_DIR, join(new URL('../../', import.meta.url).pathname, 'dist', 'ui') + '/');
});
