// Builds the console (dist/ui/, what the gateway serves at /ui/) with Vite
// when it is missing or older than a file under ui/ (or package.json).
// `npm start` runs this first (prestart), so the README's `npm ci && npm
// start` serves a working console; the console tests call ensureUiBuilt()
// because CI runs on a clean clone with no build. Test files run in parallel
// processes: a lock directory makes one of them build while the others wait.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(import.meta.dirname, '..');
export const DIST_UI = join(ROOT, 'dist', 'ui');
const INDEX = join(DIST_UI, 'index.html');
const LOCK = join(ROOT, 'dist', '.ui-build.lock');

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

/** True when dist/ui/index.html is missing or older than its sources. */
export function uiIsStale(): boolean {
  if (!existsSync(INDEX)) return true;
  const built = statSync(INDEX).mtimeMs;
  return newest(join(ROOT, 'ui')) > built || statSync(join(ROOT, 'package.json')).mtimeMs > built;
}

function build(): void {
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join(ROOT, 'ui', 'vite.config.ts'), '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`vite build failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

export async function ensureUiBuilt(): Promise<void> {
  if (!uiIsStale()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test process builds: wait for its lock to go (a lock older than
      // two minutes is from a killed run, and is taken over).
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      for (let waited = 0; existsSync(LOCK); waited += 100) {
        if (waited > 120_000) throw new Error(`the UI build of another process did not end in 2 minutes (remove ${LOCK} if none runs)`);
        await sleep(100);
      }
    }
  }
  try {
    if (uiIsStale()) build();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await ensureUiBuilt();
