// `npm run bench [-- NAME...] [-- --quick] [-- --strict]`: runs every
// bench/*.bench.ts (or those whose file name starts with one of the NAMEs)
// one after the other and prints each figure beside its peer's, with the
// median ratio over the passes, its min–max, and whether the issue's target
// is met at the median. --quick runs a single pass of each comparison (for
// development; its figures decide nothing). --strict exits 1 when a target is
// missed.
// `npm run bench -- scale [NAME...] [--quick]` runs the cost curves instead
// (bench/scale/run-scale.ts: docs/performance.md and its charts).
// Each file runs in its own child process, so one benchmark's JIT state and
// garbage never skew the next one's figures.

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatResults, targetStatus, type BenchResult } from './lib.js';

interface BenchModule {
  run?: () => Promise<BenchResult[]>;
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const RESULTS_MARK = 'HOOKWORK_BENCH_RESULTS ';
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);

if (only !== undefined) {
  // Child mode: run one file and hand its results to the parent on one line.
  const module = (await import(pathToFileURL(join(here, only)).href)) as BenchModule;
  if (typeof module.run !== 'function') throw new Error(`${only} does not export run()`);
  const results = await module.run();
  process.stdout.write(`\n${RESULTS_MARK}${JSON.stringify(results)}\n`);
  process.exit(0);
}

if (args[0] === 'scale') {
  // The cost curves (docs/performance.md): a run of their own, not part of the default set.
  const { runScale } = await import('./scale/run-scale.js');
  process.exit((await runScale(args.slice(1))) ? 0 : 1);
}

const strict = args.includes('--strict');
const quick = args.includes('--quick');
const filters = args.filter((a) => !a.startsWith('--'));

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') || f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((name) => f.startsWith(name)))
  .sort();

if (files.length === 0) {
  process.stderr.write(`No benchmark matches ${filters.join(', ')}; have: ${readdirSync(here).filter((f) => f.includes('.bench.')).join(', ')}\n`);
  process.exit(1);
}

function runFile(file: string): Promise<BenchResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `--only=${file}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // lib.ts's quickMode() and benchPasses() read it.
      env: quick ? { ...process.env, HOOKWORK_BENCH_QUICK: '1' } : process.env,
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULTS_MARK));
      // Whatever else the benchmark printed is passed on.
      const rest = out
        .split('\n')
        .filter((l) => !l.startsWith(RESULTS_MARK) && l.trim() !== '')
        .join('\n');
      if (rest !== '') process.stdout.write(`${rest}\n`);
      if (code !== 0 || line === undefined) reject(new Error(`exited with ${code}`));
      else resolve(JSON.parse(line.slice(RESULTS_MARK.length)) as BenchResult[]);
    });
  });
}

const all: BenchResult[] = [];
let failed = false;
const started = performance.now();
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  const fileStarted = performance.now();
  try {
    const results = await runFile(file);
    all.push(...results);
    process.stdout.write(`${formatResults(results)}\n(${file}: ${((performance.now() - fileStarted) / 1000).toFixed(0)} s)\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`${file} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

const missed = all.filter((r) => targetStatus(r) === 'missed');
const met = all.filter((r) => targetStatus(r) === 'met');
process.stdout.write(
  `\nTargets: ${met.length} met, ${missed.length} missed${missed.length > 0 ? ` (${missed.map((r) => r.name).join('; ')})` : ''}` +
    ` (at the median pass${quick ? '; --quick: one pass, indicative only' : ''}; ${((performance.now() - started) / 1000).toFixed(0)} s in all).\n` +
    'Ratios compare figures taken in this run only ("ours vs peer" above 1 means ours is better).\n',
);
if (failed || (strict && missed.length > 0)) process.exitCode = 1;
