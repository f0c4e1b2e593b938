// What GET /v1/plugins shows beyond the happy path: an active plugin whose
// module does not load is listed `failed` with its error (not only a log
// line), and a plugin that left global timers running shows how many.

import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway } from '../server/gateway-helpers.js';
import { tempFolder } from './helpers.js';

const TOKEN = 'superuser-token-0123456789';

test('GET /v1/plugins lists a plugin that failed to load with its error, and the leftover handles of an unloaded one', async (t) => {
  const dir = tempFolder('hookwork-plugins-state-');
  const plugins = join(dir, 'plugins');
  mkdirSync(plugins);
  writeFileSync(join(plugins, 'broken.ts'), `throw new Error('broken on import');\nexport const plugin = { name: 'broken', version: '1', setup() {} };\n`);
  writeFileSync(join(plugins, 'leaky.mjs'), `export const plugin = { name: 'leaky', version: '1', setup() { setInterval(() => {}, 1000); } };\n`);
  const { url, close } = await startGateway({
    auth: { tokens: [{ name: 'root', role: 'superuser', token: TOKEN }] },
    plugins: { folder: plugins, active: ['broken', 'leaky'] },
  });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  const call = async (method: 'GET' | 'POST', path: string): Promise<Record<string, unknown>> => {
    const res = await request(`${url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.statusCode, 200, `${method} ${path}`);
    return (await res.body.json()) as Record<string, unknown>;
  };
  type Info = { name: string; state: string; lastError?: { code: string; message: string }; leftoverHandles: number };
  const list = async (): Promise<Info[]> => (await call('GET', '/v1/plugins'))['plugins'] as Info[];

  const broken = (await list()).find((p) => p.name === 'broken');
  assert.equal(broken?.state, 'failed');
  assert.equal(broken?.lastError?.code, 'HKW_ERR_PLUGIN_INVALID');
  assert.match(broken?.lastError?.message ?? '', /broken on import/);

  const running = (await list()).find((p) => p.name === 'leaky');
  assert.equal(running?.state, 'running');
  assert.equal(running?.leftoverHandles, 0);
  await call('POST', '/v1/plugins/leaky/unload');
  const unloaded = (await list()).find((p) => p.name === 'leaky');
  assert.equal(unloaded?.state, 'stopped');
  assert.equal(unloaded?.leftoverHandles, 1);
});
