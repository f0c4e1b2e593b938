// The console's build: Preact + TypeScript into dist/ui/, served by the
// gateway under /ui/ with a strict Content-Security-Policy. So nothing may be
// inline: the module preload polyfill (an inline script) is off, CSS is always
// extracted to files, and no asset is inlined as a data: URL.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/ui', import.meta.url));

// Prints the first load's JavaScript, gzipped: the budget is 150 KB
// (test/console/build.test.ts checks it too).
function reportGzip(): Plugin {
  return {
    name: 'hookwork-gzip-report',
    apply: 'build',
    generateBundle(_options, bundle) {
      let total = 0;
      for (const file of Object.values(bundle)) {
        if (file.type === 'chunk' && file.isEntry) total += gzipSync(file.code).length;
      }
      this.info(`first-load JavaScript: ${(total / 1024).toFixed(1)} KB gzipped (budget 150 KB)`);
    },
  };
}

// dist/ui/ is not emptied before a build (a gateway or a test may be serving
// it: `npm pack` rebuilds while the console tests run); the same sources give
// the same hashed names, and files of an older build are removed after.
function pruneStale(): Plugin {
  return {
    name: 'hookwork-prune-stale',
    apply: 'build',
    writeBundle(_options, bundle) {
      const fresh = new Set(Object.keys(bundle));
      const assets = join(outDir, 'assets');
      for (const name of readdirSync(assets)) {
        if (!fresh.has(`assets/${name}`)) rmSync(join(assets, name), { force: true });
      }
    },
  };
}

export default defineConfig({
  root,
  base: '/ui/',
  plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false }), reportGzip(), pruneStale()],
  logLevel: 'info',
  build: {
    outDir,
    emptyOutDir: false,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: true,
  },
});
