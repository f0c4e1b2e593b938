// The console's build (what the gateway serves at /ui/): the CSP forbids
// inline scripts and styles, so the built index.html has none (the module
// preload polyfill is off; CSS, uPlot's included, is in files); asset names
// are hashed; the first load stays under 150 KB of JavaScript gzipped.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DIST_UI, ensureUiBuilt, uiIsStale } from '../../scripts/build-ui.js';

before(ensureUiBuilt);

const html = (): string => readFileSync(join(DIST_UI, 'index.html'), 'utf8');

test('the built index.html has no inline script, no inline style and no style attribute', () => {
  assert.equal(uiIsStale(), false, 'dist/ui is built from the current ui/ sources');
  const page = html();
  const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length >= 1, 'the app script is there');
  for (const [, attrs, body] of scripts) {
    assert.match(attrs ?? '', /\bsrc="\/ui\/assets\/[^"]+\.js"/, 'every script is a file under /ui/assets/');
    assert.equal((body ?? '').trim(), '', 'no script has inline content');
  }
  assert.doesNotMatch(page, /<style\b/, 'no <style> element');
  assert.doesNotMatch(page, /\sstyle=/, 'no style attribute');
  assert.doesNotMatch(page, /modulepreload/, 'no module preload polyfill');
  assert.match(page, /<link rel="stylesheet"[^>]*href="\/ui\/assets\/[^"]+\.css"/, 'the styles are a file');
});

test('assets have hashed names, uPlot CSS is in the stylesheet, and the first load is under 150 KB of JavaScript gzipped', () => {
  const assets = readdirSync(join(DIST_UI, 'assets'));
  for (const name of assets) assert.match(name, /-[A-Za-z0-9_-]{8}\.(js|css)$/, `${name} has a content hash`);
  const css = assets.filter((n) => n.endsWith('.css')).map((n) => readFileSync(join(DIST_UI, 'assets', n), 'utf8')).join('');
  assert.match(css, /\.uplot\b/, "uPlot's CSS is extracted to a file");
  const page = html();
  const firstLoad = [...page.matchAll(/src="\/ui\/assets\/([^"]+\.js)"/g)].map((m) => m[1] as string);
  const gzipped = firstLoad.reduce((sum, name) => sum + gzipSync(readFileSync(join(DIST_UI, 'assets', name))).length, 0);
  assert.ok(gzipped > 1000, 'the app is there');
  assert.ok(gzipped < 150 * 1024, `first-load JavaScript is ${gzipped} bytes gzipped`);
  // No JS asset injects a <style> element (CSS injection would break the CSP).
  for (const name of assets.filter((n) => n.endsWith('.js'))) {
    assert.doesNotMatch(readFileSync(join(DIST_UI, 'assets', name), 'utf8'), /createElement\(["']style["']\)/, `${name} injects no style element`);
  }
});
