// `npm run bench [-- NAME...] [-- --strict]`: runs every bench/*.bench.ts (or
// those whose file name contains one of the NAMEs) one after the other and
// prints each figure beside its peer's, with the ratio and whether the
// issue's target is met. --strict exits 1 when a target is missed.

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatResults, targetStatus, type BenchResult } from './lib.js';

interface BenchModule {
  run?: () => Promise<BenchResult[]>;
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const strict = args.includes('--strict');
const filters = args.filter((a) => !a.startsWith('--'));

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') || f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
  .sort();

if (files.length === 0) {
  process.stderr.write(`No benchmark matches ${filters.join(', ')}; have: ${readdirSync(here).filter((f) => f.includes('.bench.')).join(', ')}\n`);
  process.exit(1);
}

const all: BenchResult[] = [];
let failed = false;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  try {
    const module = (await import(pathToFileURL(join(here, file)).href)) as BenchModule;
    if (typeof module.run !== 'function') throw new Error('it does not export run()');
    const results = await module.run();
    all.push(...results);
    process.stdout.write(`${formatResults(results)}\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`${file} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

const missed = all.filter((r) => targetStatus(r) === 'missed');
const met = all.filter((r) => targetStatus(r) === 'met');
process.stdout.write(
  `\nTargets: ${met.length} met, ${missed.length} missed${missed.length > 0 ? ` (${missed.map((r) => r.name).join('; ')})` : ''}.\n` +
    'Ratios compare figures taken in this run only ("ours vs peer" above 1 means ours is better).\n',
);
if (failed || (strict && missed.length > 0)) process.exitCode = 1;
