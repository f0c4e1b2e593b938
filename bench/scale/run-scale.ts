// `npm run bench -- scale [NAME...] [--quick]`: how cost grows with the work.
// Runs each bench/scale/*.scale.ts in a fresh child process (memory figures
// must not carry another measurement's heap), prints each curve's table,
// draws it as docs/performance/<id>.svg and writes the table into
// docs/performance.md between its markers, so the page always shows the
// last full run. --quick (or SCALE_MAX) caps the sizes for development;
// a capped run prints its tables but writes nothing.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { targetVerdict, type Curve, type ScaleOptions } from './curve.js';
import { renderSvg } from './svg-chart.js';

interface ScaleModule {
  run?: (options: ScaleOptions) => Promise<Curve[]>;
}

const here = dirname(fileURLToPath(import.meta.url));
const docs = resolve(here, '../../docs');
const RESULTS_MARK = 'HOOKWORK_SCALE_RESULTS ';
const FULL = 1_000_000;

function markdownTable(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  if (head === undefined) return '';
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

export function curveMarkdown(curve: Curve): string {
  const target = curve.target === undefined ? '' : `\n\nTarget: ${curve.target.text}. This run: ${curve.target.detail} (**${targetVerdict(curve.target)}**).`;
  return `![${curve.title}](performance/${curve.id}.svg)\n\n${markdownTable(curve.table)}${target}`;
}

/** Replaces the text between `<!-- scale:id -->` and `<!-- /scale:id -->`; false when the page has no such markers. */
export function replaceSection(page: string, id: string, text: string): string | undefined {
  const open = `<!-- scale:${id} -->`;
  const close = `<!-- /scale:${id} -->`;
  const start = page.indexOf(open);
  const end = page.indexOf(close);
  if (start < 0 || end < start) return undefined;
  return `${page.slice(0, start + open.length)}\n${text}\n${page.slice(end)}`;
}

async function runChild(file: string, options: ScaleOptions): Promise<Curve[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), `--only=${file}`, `--max=${options.max}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULTS_MARK));
      const rest = out.split('\n').filter((l) => !l.startsWith(RESULTS_MARK) && l.trim() !== '').join('\n');
      if (rest !== '') process.stdout.write(`${rest}\n`);
      if (code !== 0 || line === undefined) reject(new Error(`${file} exited with ${code}`));
      else resolvePromise(JSON.parse(line.slice(RESULTS_MARK.length)) as Curve[]);
    });
  });
}

export async function runScale(args: readonly string[]): Promise<boolean> {
  const quick = args.includes('--quick');
  const max = Number(process.env['SCALE_MAX'] ?? (quick ? 10_000 : FULL));
  const names = args.filter((a) => !a.startsWith('--') && a !== 'scale');
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.scale.ts'))
    .filter((f) => names.length === 0 || names.some((n) => f.startsWith(n)))
    .sort();
  const curves: Curve[] = [];
  let ok = true;
  for (const file of files) {
    process.stdout.write(`\n== scale/${file}${max < FULL ? ` (sizes up to ${max})` : ''}\n`);
    try {
      const found = await runChild(file, { max });
      for (const curve of found) process.stdout.write(`\n${curve.title}\n${markdownTable(curve.table)}\n${curve.target === undefined ? '' : `target: ${curve.target.text}: ${curve.target.detail}: ${targetVerdict(curve.target).toUpperCase()}\n`}`);
      curves.push(...found);
    } catch (err) {
      ok = false;
      process.stderr.write(`${file} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  if (max < FULL) {
    process.stdout.write('\nSizes were capped: docs/performance.md and its charts are left as they were.\n');
    return ok;
  }
  mkdirSync(join(docs, 'performance'), { recursive: true });
  const pagePath = join(docs, 'performance.md');
  let page = readFileSync(pagePath, 'utf8');
  for (const curve of curves) {
    writeFileSync(join(docs, 'performance', `${curve.id}.svg`), renderSvg(curve));
    const next = replaceSection(page, curve.id, curveMarkdown(curve));
    if (next === undefined) process.stderr.write(`docs/performance.md has no <!-- scale:${curve.id} --> section; its table was not written.\n`);
    else page = next;
  }
  writeFileSync(pagePath, page);
  process.stdout.write(`\nWrote ${curves.length} charts to docs/performance/ and their tables to docs/performance.md.\n`);
  return ok;
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
if (only !== undefined) {
  // Child mode: one file, its curves handed to the parent on one line.
  const max = Number(process.argv.find((a) => a.startsWith('--max='))?.slice('--max='.length) ?? FULL);
  const module = (await import(pathToFileURL(join(here, only)).href)) as ScaleModule;
  if (typeof module.run !== 'function') throw new Error(`${only} does not export run(options)`);
  const curves = await module.run({ max });
  process.stdout.write(`\n${RESULTS_MARK}${JSON.stringify(curves)}\n`);
  process.exit(0);
}
