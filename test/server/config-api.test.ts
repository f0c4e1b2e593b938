// The config over a real `hookwork serve` (startServer) on 127.0.0.1 with a
// real YAML file: GET /v1/config (viewer) redacts every secret and says
// where each value came from; validate lists every problem with its key;
// apply writes the file (keeping .bak and the secrets behind "[redacted]")
// and reloads; a bad draft changes nothing; a folder config is not writable.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { send } from './gateway-helpers.js';

const VIEWER = 'viewer-token-0123456789';
const ADMIN = 'superuser-token-0123456789';
const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function configText(dataDir: string, name = 'console-test'): string {
  return [
    'server:',
    `  name: ${name}`,
    `  data_dir: ${dataDir}`,
    'auth:',
    '  tokens:',
    `    - { name: viewer, role: viewer, token: ${VIEWER} }`,
    `    - { name: admin, role: superuser, token: ${ADMIN} }`,
    'events:',
    "  - { id: '100', name: upload }",
    'handlers:',
    '  - type: webhook',
    '    name: hook',
    '    url: https://user:hunter2-password@example.com/in',
    '    actions: [upload]',
    '    headers: { X-Api-Key: key-0123456789-secret }',
    '',
  ].join('\n');
}

async function serve(t: { after: (fn: () => Promise<void>) => void }, path?: (dir: string) => string): Promise<{ server: RunningServer; file: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-config-api-'));
  const file = join(dir, 'hookwork.yaml');
  writeFileSync(file, configText(join(dir, 'data')));
  const server = await startServer({ config: path === undefined ? file : path(dir), env: { HOOKWORK_LOG_LEVEL: 'silent' }, port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, file, dir };
}

test('GET /v1/config (viewer) shows the effective config with every secret redacted, each value\'s file and key, env var or default, and the file text redacted', async (t) => {
  const { server, file } = await serve(t);
  const reply = await send(server.url, 'GET', '/v1/config', as(VIEWER));
  assert.equal(reply.status, 200);
  const config = reply.body['config'] as { auth: { tokens: Array<{ token: string }> }; handlers: Array<{ url: string; headers: Record<string, string> }>; server: { name: string } };
  assert.deepEqual(config.auth.tokens.map((x) => x.token), ['[redacted]', '[redacted]']);
  assert.equal(config.handlers[0]?.url, 'https://user:[redacted]@example.com/in');
  assert.equal(config.handlers[0]?.headers['x-api-key'] ?? config.handlers[0]?.headers['X-Api-Key'], '[redacted]');
  assert.equal(config.server.name, 'console-test');
  const sources = reply.body['sources'] as Record<string, { file: string | null; key: string | null; env: string | null; default: boolean }>;
  assert.deepEqual(sources['server.name'], { file, key: 'server.name', env: null, default: false });
  assert.deepEqual(sources['auth.tokens.1.token'], { file, key: 'auth.tokens.1.token', env: null, default: false });
  assert.deepEqual(sources['log_level'], { file: null, key: null, env: 'HOOKWORK_LOG_LEVEL', default: false });
  assert.equal(sources['delivery.sender_thread']?.default, true);
  assert.equal(reply.body['format'], 'yaml');
  const text = String(reply.body['text']);
  assert.match(text, /name: console-test/);
  const whole = JSON.stringify(reply.body);
  for (const secret of [VIEWER, ADMIN, 'hunter2-password', 'key-0123456789-secret']) assert.equal(whole.includes(secret), false, `no ${secret}`);
  assert.equal((await send(server.url, 'GET', '/v1/config')).status, 401);
});

test('POST /v1/config/validate (superuser) lists every problem with its key; "[redacted]" keeps the secret in force', async (t) => {
  const { server } = await serve(t);
  const text = String((await send(server.url, 'GET', '/v1/config', as(VIEWER))).body['text']);
  assert.equal((await send(server.url, 'POST', '/v1/config/validate', { ...as(VIEWER), json: { text } })).status, 403);
  const same = await send(server.url, 'POST', '/v1/config/validate', { ...as(ADMIN), json: { text } });
  assert.deepEqual(same.body, { valid: true, problems: [] }, 'the redacted text is valid: each [redacted] stands for the secret in force');
  const broken = text.replace('name: console-test', 'name: console-test\n  colour: blue').replace(/actions: \[ ?upload ?\]/, 'actions: [upload]\n    method: FETCH');
  const bad = await send(server.url, 'POST', '/v1/config/validate', { ...as(ADMIN), json: { text: broken } });
  assert.equal(bad.status, 200);
  assert.equal(bad.body['valid'], false);
  const keys = (bad.body['problems'] as Array<{ key: string; message: string }>).map((p) => p.key);
  assert.ok(keys.includes('server.colour'), keys.join(', '));
  assert.ok(keys.includes('handlers.0.method'), keys.join(', '));
});

test('POST /v1/config/apply writes the draft (previous as .bak, secrets behind "[redacted]" kept) and reloads; a bad draft is 422 and changes nothing', async (t) => {
  const { server, file } = await serve(t);
  const before = readFileSync(file, 'utf8');
  const text = String((await send(server.url, 'GET', '/v1/config', as(VIEWER))).body['text']);
  assert.equal((await send(server.url, 'POST', '/v1/config/apply', { ...as(VIEWER), json: { text } })).status, 403);
  const bad = await send(server.url, 'POST', '/v1/config/apply', { ...as(ADMIN), json: { text: text.replace('name: console-test', 'name: 42\n  colour: blue') } });
  assert.deepEqual([bad.status, bad.body['code']], [422, 'HKW_ERR_CONFIG_DRAFT_INVALID']);
  assert.ok((bad.body['problems'] as Array<{ key: string }>).some((p) => p.key === 'server.colour'));
  assert.equal(readFileSync(file, 'utf8'), before, 'a refused draft writes nothing');
  assert.equal(existsSync(`${file}.bak`), false);

  const draft = text.replace('https://user:[redacted]@example.com/in', 'https://user:[redacted]@example.org/in');
  const applied = await send(server.url, 'POST', '/v1/config/apply', { ...as(ADMIN), json: { text: draft } });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  assert.equal(applied.body['applied'], true);
  assert.equal(readFileSync(`${file}.bak`, 'utf8'), before, 'the previous file kept as .bak');
  const now = readFileSync(file, 'utf8');
  assert.match(now, /https:\/\/user:hunter2-password@example\.org\/in/, `the URL changed, its password kept: ${now}`);
  assert.ok(now.includes(VIEWER) && now.includes(ADMIN) && now.includes('key-0123456789-secret'), 'every secret kept');
  assert.equal(now.includes('[redacted]'), false);
  assert.equal(server.runtime.config.webhooks.length + server.runtime.config.handlers.length > 0, true);
  assert.equal((server.runtime.config.handlers[0] as { url?: string }).url, 'https://user:hunter2-password@example.org/in', 'reloaded');
  // The tokens still work after the reload (they were kept).
  assert.equal((await send(server.url, 'GET', '/v1/config', as(VIEWER))).status, 200);
});

test('POST /v1/config/apply on a config from a folder is 409 HKW_ERR_CONFIG_NOT_WRITABLE', async (t) => {
  const { server } = await serve(t, (dir) => {
    const folder = join(dir, 'conf.d');
    mkdirSync(folder);
    writeFileSync(join(folder, 'main.yaml'), readFileSync(join(dir, 'hookwork.yaml')));
    return folder;
  });
  const reply = await send(server.url, 'POST', '/v1/config/apply', { ...as(ADMIN), json: { text: 'server: {}\n' } });
  assert.deepEqual([reply.status, reply.body['code']], [409, 'HKW_ERR_CONFIG_NOT_WRITABLE']);
  const view = await send(server.url, 'GET', '/v1/config', as(VIEWER));
  assert.equal(view.status, 200);
  assert.equal(String(view.body['text']).includes(VIEWER), false);
});
