// A small line chart as SVG text, so the scale bench draws its own curves
// without a charting dependency: axes with ticks, one polyline and marker
// per series, a legend. Text is escaped; nothing in it runs.

import type { Curve } from './curve.js';
import { formatCount, formatFigure } from './curve.js';

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 72, right: 24, top: 40, bottom: 64 };
const COLOURS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#57606a'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [0, max]. */
function yTicks(max: number): number[] {
  if (max <= 0) return [0];
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001 + step / 2; v += step) ticks.push(v);
  return ticks;
}

export function renderSvg(curve: Curve): string {
  const xs = [...new Set(curve.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const maxY = Math.max(0, ...curve.series.flatMap((s) => s.points.map((p) => p.y)));
  const ticks = yTicks(maxY);
  const topY = ticks[ticks.length - 1] ?? 1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  // Sizes grow tenfold and include 0: place them at even steps, in order.
  const xAt = (x: number): number => {
    const index = xs.indexOf(x);
    return MARGIN.left + (xs.length === 1 ? plotW / 2 : (index / (xs.length - 1)) * plotW);
  };
  const yAt = (y: number): number => MARGIN.top + plotH - (topY === 0 ? 0 : (y / topY) * plotH);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${escape(curve.title)}</title>`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold" fill="#24292f">${escape(curve.title)}</text>`);
  for (const t of ticks) {
    const y = yAt(t);
    out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#d0d7de" stroke-width="1"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${y + 4}" text-anchor="end" fill="#57606a">${escape(formatFigure(t))}</text>`);
  }
  for (const x of xs) {
    out.push(`<text x="${xAt(x)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle" fill="#57606a">${escape(formatCount(x))}</text>`);
  }
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#57606a"/>`);
  out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#57606a"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - MARGIN.bottom + 38}" text-anchor="middle" fill="#24292f">${escape(curve.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#24292f">${escape(curve.yLabel)}</text>`);
  curve.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const points = series.points.map((p) => `${xAt(p.x).toFixed(1)},${yAt(p.y).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>`);
    for (const p of series.points) out.push(`<circle cx="${xAt(p.x).toFixed(1)}" cy="${yAt(p.y).toFixed(1)}" r="3.5" fill="${colour}"/>`);
    const lx = MARGIN.left + 8 + i * 150;
    const ly = HEIGHT - 12;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${colour}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 1}" fill="#24292f">${escape(series.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
