// The package as a user gets it: `npm pack` (whose prepack builds dist/),
// the tarball installed into a scratch project outside the repo, and there
// the README's embedding example and `npx hookwork serve` run against the
// installed copy. One pack and one install serve every case.
//
// The install resolves dependencies from the local npm cache, asking the
// registry only for what the cache lacks. It skips install scripts: the one
// that matters, better-sqlite3's, would download a prebuilt binary (not
// reachable here) or compile SQLite for minutes, so the scratch project pins
// better-sqlite3 to the repo's version and borrows the repo's compiled addon.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import ts from 'typescript';
import { collect, listeningUrl, type Spawned } from './helpers/hookwork-cli.js';

const ROOT = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const run = promisify(execFile);

/** Runs npm (no shell) in `cwd`; its output goes into the error when it fails. */
async function npm(args: string[], cwd: string): Promise<void> {
  try {
    await run('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${stderr ?? ''}\n${stdout ?? ''}`, { cause: err });
  }
}

/** The README's marked embedding example, as written (it imports from 'hookwork'). */
function readmeExample(): { code: string; expected: string[] } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- readme-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- readme-example:end -->/.exec(readme);
  assert.ok(block, 'README.md has the marked example');
  const code = block[1] as string;
  return { code, expected: [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => (m[1] as string).trim()) };
}

let project = '';
let packDir = '';
const servers: Spawned[] = [];

before(
  async () => {
    packDir = mkdtempSync(join(tmpdir(), 'hookwork-pack-'));
    await npm(['pack', '--pack-destination', packDir, '--silent'], ROOT);
    const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    assert.equal(tarballs.length, 1, `npm pack wrote one tarball (${tarballs.join(', ')})`);

    project = mkdtempSync(join(tmpdir(), 'hookwork-installed-'));
    const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'));
    const sqliteVersion = (JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')) as { version: string }).version;
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { 'better-sqlite3': sqliteVersion } }, null, 2),
    );
    await npm(['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(packDir, tarballs[0] as string)], project);
    const addon = join('build', 'Release', 'better_sqlite3.node');
    mkdirSync(dirname(join(project, 'node_modules/better-sqlite3', addon)), { recursive: true });
    copyFileSync(join(sqliteDir, addon), join(project, 'node_modules/better-sqlite3', addon));
  },
  { timeout: 600_000 },
);

after(async () => {
  for (const server of servers) stop(server);
  await Promise.all(servers.map((s) => s.exited));
  if (project !== '') rmSync(project, { recursive: true, force: true });
  if (packDir !== '') rmSync(packDir, { recursive: true, force: true });
});

/** `npx hookwork serve …` in the scratch project, in its own process group (npx runs node under npm). */
function serve(args: string[]): Spawned {
  const child = spawn('npx', ['--no-install', 'hookwork', 'serve', '--port', '0', ...args], {
    cwd: project,
    env: { ...process.env, HOOKWORK_LOG_LEVEL: 'warn', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const spawned = collect(child);
  servers.push(spawned);
  return spawned;
}

/** SIGTERM to npx and the hookwork under it (the gateway closes gracefully on it). */
function stop(server: Spawned): void {
  if (server.child.exitCode !== null || server.child.signalCode !== null || server.child.pid === undefined) return;
  try {
    process.kill(-server.child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the packed package, installed into a project outside the repo', () => {
  test('the tarball ships dist/ (built on prepack) with its declarations, the built console (dist/ui) and the hookwork bin', () => {
    const installed = join(project, 'node_modules/hookwork');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/ui/index.html', 'config/default.yaml', 'examples/extensions/config.yaml']) {
      assert.ok(existsSync(join(installed, file)), `${file} is in the installed package`);
    }
    assert.ok(existsSync(join(project, 'node_modules/.bin/hookwork')), 'npm linked the bin');
  });

  test('the README embedding example runs against the installed copy and prints what its comments say', async () => {
    const { code, expected } = readmeExample();
    assert.ok(expected.length >= 5);
    // Plain JavaScript: a user of the published package needs no TypeScript tooling.
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(join(project, 'readme-example.mjs'), js);
    const { stdout } = await run(process.execPath, ['readme-example.mjs'], { cwd: project });
    assert.deepEqual(stdout.trimEnd().split('\n'), expected);
  });

  test('the README embedding example typechecks against the installed declarations', async () => {
    writeFileSync(join(project, 'readme-example.ts'), readmeExample().code);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          // @types/node is the repo's: the scratch project installs only hookwork.
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['readme-example.ts'],
      }),
    );
    try {
      await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project });
    } catch (err) {
      assert.fail(`tsc found errors:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
  });

  test('npx hookwork serve with the embedded default config listens, answers GET /v1/health and serves the console from the package', async () => {
    const server = serve([]);
    const url = await listeningUrl(server);
    const answer = await health(url);
    assert.equal(answer.status, 200);
    assert.equal(answer.body['status'], 'ok');
    assert.equal((answer.body['server'] as { name?: string }).name, 'hookwork', 'the embedded default config');
    const ui = await fetch(`${url}/ui/`);
    assert.equal(ui.status, 200, 'the installed package has its built console');
    assert.match(ui.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(await ui.text())?.[1];
    assert.ok(script, 'index.html loads its script from /ui/assets/');
    assert.equal((await fetch(`${url}${script}`)).status, 200);
    stop(server);
    await server.exited;
  });

  test('npx hookwork serve with the installed examples/extensions/config.yaml starts its TypeScript extension handler', async () => {
    const server = serve(['--config', join(project, 'node_modules/hookwork/examples/extensions/config.yaml')]);
    const url = await listeningUrl(server);
    const answer = await health(url);
    assert.equal(answer.status, 200);
    assert.equal((answer.body['server'] as { name?: string }).name, 'demo');
    // Handlers start before the gateway listens: a load failure is logged by then.
    const output = server.stdout() + server.stderr();
    assert.doesNotMatch(output, /HKW_ERR_EXTENSION_LOAD|failed to start/, 'the demo extension handler (a .ts file) loads from the installed package');
    stop(server);
    await server.exited;
  });
});
