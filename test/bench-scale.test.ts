// The cost curves' publishing (issue 21, point 3): `npm run bench -- scale`
// draws each curve as an SVG and writes its table between markers in
// docs/performance.md. The figures are the bench's; what is tested here is
// that a curve becomes a chart and a table, and that the published page and
// charts match one another.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { judgedAt, targetVerdict, type Curve } from '../bench/scale/curve.js';
import { curveMarkdown, replaceSection } from '../bench/scale/run-scale.js';
import { renderSvg } from '../bench/scale/svg-chart.js';

const curve: Curve = {
  id: 'example',
  title: 'Cost <as> the work grows & more',
  xLabel: 'pending deliveries',
  yLabel: 'deliveries/s',
  series: [
    { name: 'SQLite', points: [{ x: 0, y: 900 }, { x: 10_000, y: 850 }, { x: 1_000_000, y: 800 }] },
    { name: 'PostgreSQL', points: [{ x: 0, y: 700 }, { x: 10_000, y: 690 }, { x: 1_000_000, y: 650 }] },
  ],
  table: [
    ['pending', 'SQLite', 'PostgreSQL'],
    ['0', '900', '700'],
    ['1M', '800', '650'],
  ],
  target: { text: 'at 1 million, at least 0.8x of the throughput at 0', met: true, detail: '0.89x' },
};

test('scale: a curve becomes an SVG chart with a line and a marker per point for each series, its text escaped', () => {
  const svg = renderSvg(curve);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => (m[1] as string).split(' '));
  assert.deepEqual(lines.map((points) => points.length), [3, 3]);
  assert.equal([...svg.matchAll(/<circle /g)].length, 6);
  assert.ok(svg.includes('<title>Cost &lt;as&gt; the work grows &amp; more</title>'));
  assert.ok(!svg.includes('<as>'));
  // The x axis is labelled with the sizes, in order; the y ticks reach the largest figure.
  const labels = [...svg.matchAll(/text-anchor="middle" fill="#57606a">([^<]+)</g)].map((m) => m[1]);
  assert.deepEqual(labels, ['0', '10k', '1M']);
  const ticks = [...svg.matchAll(/text-anchor="end" fill="#57606a">([^<]+)</g)].map((m) => Number((m[1] as string).replace(/,/g, '')));
  assert.ok((ticks.at(-1) as number) >= 900, ticks.join(' '));
  // Higher figures are drawn higher (smaller y).
  const ys = (lines[0] as string[]).map((p) => Number(p.split(',')[1]));
  assert.ok((ys[0] as number) < (ys[2] as number));
});

test('scale: a target stated at 1 million is judged only by a run that reached it; a capped run says not judged, not missed', () => {
  assert.equal(judgedAt(1_000_000, 1_000_000, () => true), true);
  assert.equal(judgedAt(1_000_000, 1_000_000, () => false), false);
  let asked = false;
  assert.equal(
    judgedAt(1_000_000, 10_000, () => {
      asked = true;
      return false;
    }),
    undefined,
  );
  assert.equal(asked, false);
  const target = { text: 'at 1 million, at least 0.8x', detail: '0.95x at 10k' };
  assert.equal(targetVerdict({ ...target, met: true }), 'met');
  assert.equal(targetVerdict({ ...target, met: false }), 'missed');
  assert.equal(targetVerdict({ ...target, met: undefined }), 'not judged (sizes capped)');
  assert.ok(curveMarkdown({ ...curve, target: { ...target, met: undefined } }).endsWith('This run: 0.95x at 10k (**not judged (sizes capped)**).'));
});

test('scale: the table and target go between the curve\'s markers, and nothing else on the page changes', () => {
  const page = 'before\n<!-- scale:example -->\nold table\n<!-- /scale:example -->\nafter\n<!-- scale:other -->\nkept\n<!-- /scale:other -->\n';
  const next = replaceSection(page, 'example', curveMarkdown(curve));
  assert.ok(next !== undefined);
  assert.ok(next.startsWith('before\n<!-- scale:example -->\n![Cost <as> the work grows & more](performance/example.svg)\n\n| pending | SQLite | PostgreSQL |\n| --- | --- | --- |\n| 0 | 900 | 700 |\n| 1M | 800 | 650 |'));
  assert.ok(next.includes('Target: at 1 million, at least 0.8x of the throughput at 0. This run: 0.89x (**met**).\n<!-- /scale:example -->\nafter\n<!-- scale:other -->\nkept\n'));
  assert.ok(!next.includes('old table'));
  assert.equal(replaceSection(page, 'missing', 'x'), undefined);
});

test('scale: every published chart has its section in docs/performance.md, with the chart and a table, and every section its chart', () => {
  const docs = fileURLToPath(new URL('../docs/', import.meta.url));
  const page = readFileSync(`${docs}performance.md`, 'utf8');
  const charts = readdirSync(`${docs}performance`).filter((f) => f.endsWith('.svg')).map((f) => f.slice(0, -4)).sort();
  const sections = [...page.matchAll(/<!-- scale:([a-z0-9-]+) -->/g)].map((m) => m[1] as string).sort();
  assert.ok(charts.length >= 11, charts.join(', '));
  assert.deepEqual(sections, charts);
  for (const id of sections) {
    const body = page.slice(page.indexOf(`<!-- scale:${id} -->`), page.indexOf(`<!-- /scale:${id} -->`));
    assert.ok(body.includes(`(performance/${id}.svg)`), `${id}: the chart`);
    assert.match(body, /\n\| [^\n]+ \|\n\| --- \|/, `${id}: a table`);
    assert.match(readFileSync(`${docs}performance/${id}.svg`, 'utf8'), /<polyline /, `${id}: a line`);
  }
});
