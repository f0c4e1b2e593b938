// The real `hookwork` bin in a child process (through tsx), with its output
// collected, for end-to-end tests over HTTP.

import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { waitFor } from './wait-for.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
// An absolute loader URL, so the child can run in any folder.
const TSX = import.meta.resolve('tsx');

export interface Spawned {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

export function hookwork(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    env: { ...process.env, HOOKWORK_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child);
}

/** Collects a child's output (spawned with piped stdout and stderr) and its exit. */
export function collect(child: ChildProcess): Spawned {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Polls `probe` (bounded) until it gives a value; fails early if the process exited. */
export async function waitForOutput<T>(what: string, probe: () => T | undefined, spawned: Spawned, timeoutMs = 30_000): Promise<T> {
  const output = (): string => `stdout: ${spawned.stdout()} stderr: ${spawned.stderr()}`;
  const value = await waitFor(
    () => {
      const found = probe();
      if (found !== undefined) return { found };
      if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) throw new Error(`The process exited before ${what}; ${output()}`);
      return undefined;
    },
    { what, timeoutMs, intervalMs: 50 },
  ).catch((err: Error) => {
    throw err.message.startsWith('Timed out') ? new Error(`${err.message}; ${output()}`) : err;
  });
  return value.found;
}

/** Waits for `hookwork serve`'s listening line and returns the URL. */
export function listeningUrl(spawned: Spawned): Promise<string> {
  return waitForOutput('the listening line', () => /hookwork listening on (http:\/\/\S+)/.exec(spawned.stdout())?.[1], spawned);
}
