// The `hookwork` command's conventions, end to end with the real bin in child
// processes and a real gateway: --version, exit codes (0 ok, 1 problems, 2
// usage or config error), --json, plugins and handlers against a running
// gateway with the token from HOOKWORK_TOKEN (never printed), `openapi`, and
// config values from HOOKWORK_* environment variables.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hookwork, listeningUrl, type Spawned } from '../helpers/hookwork-cli.js';
import { send } from '../server/gateway-helpers.js';

const SUPERUSER = 'superuser-token-cli-0123456789';
const VIEWER = 'viewer-token-cli-0123456789';
const HOOKWORK_URL = new URL('../../src/index.ts', import.meta.url).href;

let dir: string;
let server: Spawned;
let url: string;

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = hookwork(args, dir, env);
  const code = await child.exited;
  return { code, out: child.stdout(), err: child.stderr() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hookwork-cli-conv-'));
  mkdirSync(join(dir, 'plugins'));
  writeFileSync(
    join(dir, 'plugins', 'hello.mjs'),
    `import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};\nexport default definePlugin({ name: 'hello', version: '1.2.3', setup() {} });\n`,
  );
  writeFileSync(
    join(dir, 'hookwork.json'),
    JSON.stringify({
      server: { data_dir: join(dir, 'data'), port: 1 },
      auth: { tokens: [{ name: 'root', role: 'superuser', token: SUPERUSER }, { name: 'eyes', role: 'viewer', token: VIEWER }] },
      plugins: { folder: join(dir, 'plugins'), active: ['hello'] },
      extensions: { folder: fileURLToPath(new URL('../extensions/fixtures/', import.meta.url)) },
      handlers: [{ type: 'extension', name: 'plain', entry_point: 'plain-handler.mjs#Plain', configuration: 'x', target_events: ['20200'] }],
    }),
  );
  // The port comes from the environment, over the file's.
  server = hookwork(['serve', '--config', join(dir, 'hookwork.json')], dir, { HOOKWORK_PORT: '0', HOOKWORK_NAME: 'from-env' });
  url = await listeningUrl(server);
});

after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
});

test('hookwork --version prints the package version and exits 0', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const r = await run(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.out.trim(), version);
});

test('usage errors exit 2: an unknown command, an unknown option, a missing argument, a bad --url', async () => {
  assert.equal((await run(['nonsense'])).code, 2);
  assert.equal((await run(['plugins', 'list', '--nope'])).code, 2);
  assert.equal((await run(['handlers', 'start'])).code, 2);
  const badUrl = await run(['plugins', 'list', '--url', 'not a url']);
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.err, /--url "not a url" is not a URL/);
});

test('environment variables set config values over the file: the port (0) and the server name', async () => {
  const health = await send(url, 'GET', '/v1/health');
  assert.equal((health.body['server'] as { name: string }).name, 'from-env');
});

test('a bad value from the environment is refused like a bad file value, naming the variable (validate 1, serve 2)', async () => {
  const validate = await run(['validate', join(dir, 'hookwork.json')], { HOOKWORK_PORT: 'eighty' });
  assert.equal(validate.code, 1);
  assert.match(validate.out, /environment variable HOOKWORK_PORT: server\.port/);
  const serve = await run(['serve', '--config', join(dir, 'hookwork.json')], { HOOKWORK_LOG_LEVEL: 'loud' });
  assert.equal(serve.code, 2);
  assert.match(serve.err, /environment variable HOOKWORK_LOG_LEVEL: log_level/);
});

test('hookwork plugins list --json and reload against the running gateway, the token from HOOKWORK_TOKEN', async () => {
  const list = await run(['plugins', 'list', '--json', '--url', url], { HOOKWORK_TOKEN: SUPERUSER });
  assert.equal(list.code, 0, list.err);
  const plugins = JSON.parse(list.out) as Array<{ name: string; state: string; version: string }>;
  assert.deepEqual(plugins.map((p) => [p.name, p.state, p.version]), [['hello', 'running', '1.2.3']]);
  const text = await run(['plugins', 'list', '--url', url, '--token', SUPERUSER]);
  assert.match(text.out, /^hello@1\.2\.3 {2}running {2}active$/m);
  for (const action of ['unload', 'load', 'reload']) {
    const r = await run(['plugins', action, 'hello', '--url', url], { HOOKWORK_TOKEN: SUPERUSER });
    assert.equal(r.code, 0, `${action}: ${r.err}`);
  }
  const unknown = await run(['plugins', 'load', 'nobody', '--url', url], { HOOKWORK_TOKEN: SUPERUSER });
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /404 HKW_ERR_PLUGIN_NOT_FOUND/);
});

test('the token is never printed: a refused token (403), a missing one (401) and an unreachable gateway exit 1', async () => {
  // Reading the plugins is a viewer's right; reloading one is not.
  const forbidden = await run(['plugins', 'reload', 'hello', '--url', url, '--token', VIEWER]);
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.err, /403 HKW_ERR_FORBIDDEN/);
  assert.ok(!forbidden.err.includes(VIEWER) && !forbidden.out.includes(VIEWER));
  const missing = await run(['plugins', 'list', '--url', url]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /401 HKW_ERR_UNAUTHENTICATED.*HOOKWORK_TOKEN/);
  const nobody = await run(['handlers', 'list', '--url', 'http://127.0.0.1:9'], { HOOKWORK_TOKEN: SUPERUSER });
  assert.equal(nobody.code, 1);
  assert.match(nobody.err, /cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
  assert.ok(!nobody.err.includes(SUPERUSER));
});

test('hookwork handlers list --json, stop and start against the running gateway; an unknown name exits 1', async () => {
  const env = { HOOKWORK_TOKEN: SUPERUSER, HOOKWORK_URL: url };
  const list = await run(['handlers', 'list', '--json'], env);
  assert.equal(list.code, 0, list.err);
  assert.deepEqual((JSON.parse(list.out) as Array<{ name: string; state: string }>).map((h) => [h.name, h.state]), [['plain', 'started']]);
  const stop = await run(['handlers', 'stop', 'plain', '--json'], env);
  assert.equal(stop.code, 0, stop.err);
  assert.equal((JSON.parse(stop.out) as { state: string }).state, 'stopped');
  const start = await run(['handlers', 'start', 'plain'], env);
  assert.equal(start.code, 0, start.err);
  assert.match(start.out, /^plain {2}started {2}events=20200/);
  const unknown = await run(['handlers', 'stop', 'nobody'], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /404 HKW_ERR_HANDLER_NOT_FOUND/);
});

test('hookwork openapi prints the document the gateway serves, without listening or writing state', async () => {
  const cwd = mkdtempSync(join(dir, 'openapi-'));
  const child = hookwork(['openapi'], cwd);
  assert.equal(await child.exited, 0, child.stderr());
  const printed = JSON.parse(child.stdout()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(printed.openapi, '3.1.0');
  const served = (await send(url, 'GET', '/v1/openapi.json')).body as { paths: Record<string, unknown> };
  assert.deepEqual(Object.keys(printed.paths).sort(), Object.keys(served.paths).sort());
  assert.equal(existsSync(join(cwd, 'data')), false, 'no data folder was made');
});
