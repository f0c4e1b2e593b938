// Two real gateway processes on one PostgreSQL: a plugin load, reload or
// unload requested on one node, and a config reload (over HTTP or by SIGHUP),
// reach the other node through LISTEN/NOTIFY.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startPostgres } from '../helpers/postgres.js';
import { hookwork, listeningUrl, type Spawned } from '../helpers/hookwork-cli.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'cluster-superuser-token-0123456789';

interface PluginView {
  name: string;
  state: string;
  loadedAt?: string;
}

async function plugins(url: string): Promise<Map<string, PluginView>> {
  const res = await fetch(`${url}/v1/plugins`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { plugins: PluginView[] };
  return new Map(body.plugins.map((p) => [p.name, p]));
}

async function post(url: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const stateOn = async (url: string, name: string): Promise<string | undefined> => (await plugins(url)).get(name)?.state;

test('plugin management and config reloads requested on one node reach the other (PostgreSQL LISTEN/NOTIFY)', async () => {
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-cluster-'));
  const nodes: Spawned[] = [];
  try {
    mkdirSync(join(dir, 'plugins'));
    for (const name of ['alpha', 'beta']) {
      writeFileSync(join(dir, 'plugins', `${name}.mjs`), `export const plugin = { name: '${name}', version: '1.0.0', setup() {} };\n`);
    }
    const file = join(dir, 'hookwork.yaml');
    const writeConfig = (active: string[]): void =>
      writeFileSync(
        file,
        stringify({
          store: { url: pg.url },
          auth: { tokens: [{ name: 'root', role: 'superuser', token: TOKEN }] },
          plugins: { folder: 'plugins', active },
        }),
      );
    writeConfig([]);
    // Both nodes read the same config file and share the store; HOSTNAME names each node.
    const start = (name: string): Spawned => {
      const node = hookwork(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1'], dir, { HOSTNAME: name });
      nodes.push(node);
      return node;
    };
    const [a, b] = [start('node-a'), start('node-b')];
    const [urlA, urlB] = await Promise.all([listeningUrl(a), listeningUrl(b)]);

    // A plugin load on A starts it on B too.
    const loaded = await post(urlA, '/v1/plugins/alpha/load');
    assert.equal(loaded.status, 200);
    assert.equal((loaded.body['plugin'] as PluginView).state, 'running');
    await waitFor(async () => (await stateOn(urlB, 'alpha')) === 'running', { timeoutMs: 20_000, intervalMs: 50, what: 'alpha running on node B' });

    // A reload on B restarts it on A (a new load time there).
    const before = (await plugins(urlA)).get('alpha')?.loadedAt;
    assert.equal((await post(urlB, '/v1/plugins/alpha/reload')).status, 200);
    await waitFor(async () => (await plugins(urlA)).get('alpha')?.loadedAt !== before, { timeoutMs: 20_000, intervalMs: 50, what: 'alpha reloaded on node A' });
    assert.equal(await stateOn(urlA, 'alpha'), 'running');

    // An unload on A stops it on B.
    assert.equal((await post(urlA, '/v1/plugins/alpha/unload')).status, 200);
    await waitFor(async () => (await stateOn(urlB, 'alpha')) === 'stopped', { timeoutMs: 20_000, intervalMs: 50, what: 'alpha stopped on node B' });

    // A config reload on A (beta made active in the shared file) reaches B.
    writeConfig(['beta']);
    const reloaded = await post(urlA, '/v1/config/reload');
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    assert.deepEqual((reloaded.body['reload'] as { applied: string[] }).applied, ['plugins']);
    assert.equal(await stateOn(urlA, 'beta'), 'running');
    await waitFor(async () => (await stateOn(urlB, 'beta')) === 'running', { timeoutMs: 20_000, intervalMs: 50, what: 'beta running on node B' });

    // SIGHUP on B reloads there and on A.
    writeConfig([]);
    b.child.kill('SIGHUP');
    await waitFor(async () => (await stateOn(urlB, 'beta')) === 'stopped', { timeoutMs: 20_000, intervalMs: 50, what: 'beta stopped on node B' });
    await waitFor(async () => (await stateOn(urlA, 'beta')) === 'stopped', { timeoutMs: 20_000, intervalMs: 50, what: 'beta stopped on node A' });
    assert.match(b.stdout(), /hookwork reloaded the config \(plugins\)/);
  } finally {
    for (const node of nodes) {
      node.child.kill('SIGTERM');
      await node.exited;
    }
    rmSync(dir, { recursive: true, force: true });
    await pg.stop();
  }
});
