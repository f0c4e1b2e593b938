// Extension handlers load as ES modules wherever they live (.ts, .mts, .js,
// .mjs), as CommonJS where they say so (.cjs, .cts): here from a temp folder
// inside no package.json, in the main process (onStart, class checks) and in
// the pool's worker (handle()). The ESM files use top-level await, which
// CommonJS refuses, and named exports, which tsx's CommonJS output loses.
// A handler whose module cannot load is listed `failed` with the error.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/wait-for.js';
import { startRuntime, type TestRuntime } from './helpers.js';

const ESM_TS = (label: string): string => `
import { suffix } from './helper.ts';
const ready: boolean = await Promise.resolve(true);
export class Handler {
  static readonly TARGET_EVENTS: string[] = ['2000'];
  onStart(parent: { configuration: string }): void {
    if (!ready) throw new Error('top-level await did not run');
  }
  static handle(event: { id: string }, configuration: string): string {
    return '${label} ' + configuration + ' ' + event.id + suffix;
  }
}
`;

const ESM_JS = (label: string): string => `
const ready = await Promise.resolve(true);
export class Handler {
  static handle(event, configuration) {
    return '${label} ' + configuration + ' ' + event.id + (ready ? '' : ' not ready');
  }
}
`;

const FILES: Record<string, string> = {
  'helper.ts': `export const suffix: string = '';\n`,
  'h-ts.ts': ESM_TS('ts'),
  'h-mts.mts': ESM_TS('mts'),
  'h-js.js': ESM_JS('js'),
  'h-mjs.mjs': ESM_JS('mjs'),
  'h-cjs.cjs': `exports.Handler = class Handler {
  static handle(event, configuration) { return 'cjs ' + configuration + ' ' + event.id + (typeof module === 'object' ? '' : ' not cjs'); }
};\n`,
  'h-cts.cts': `export class Handler {
  static handle(event: { id: string }, configuration: string): string { return 'cts ' + configuration + ' ' + event.id + (typeof module === 'object' ? '' : ' not cjs'); }
}\n`,
  'throws.ts': `throw new Error('broken on import');\nexport class Handler { static handle() { return null; } }\n`,
};

const FORMATS = ['ts', 'mts', 'js', 'mjs', 'cjs', 'cts'];

/** True when no package.json sits in `dir` or above (the case under test). */
function insideNoPackage(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'package.json'))) return false;
    if (dirname(current) === current) return true;
  }
}

describe('extension modules outside any package', () => {
  let folder: string;
  let rt: TestRuntime;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'hookwork-ext-formats-'));
    for (const [name, source] of Object.entries(FILES)) writeFileSync(join(folder, name), source);
    rt = await startRuntime(
      {
        events: [{ id: '2000', name: 'work' }],
        extensions: { folder, pool: { size: 1 } },
        handlers: [
          ...FORMATS.map((format) => ({
            type: 'extension' as const,
            name: format,
            entry_point: `h-${format}.${format}#Handler`,
            configuration: 'cfg',
            target_events: ['2000'],
          })),
          { type: 'extension' as const, name: 'missing', entry_point: 'nowhere.ts#Handler' },
          { type: 'extension' as const, name: 'throws', entry_point: 'throws.ts#Handler' },
        ],
      },
      folder,
    );
  });

  after(async () => {
    await rt?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  test('the temp folder is inside no package.json', () => {
    assert.ok(insideNoPackage(folder), `${folder} must not be inside a package for this test to mean anything`);
  });

  for (const format of FORMATS) {
    test(`a .${format} handler starts in the main process and handles an event in its worker`, async () => {
      const service = rt.runtime.services.extensions;
      assert.ok(service);
      const info = service.get(format);
      assert.equal(info?.state, 'started', `state of the .${format} handler: ${info?.state} ${info?.lastError?.message ?? ''}`);
      const source = await rt.runtime.host.emit('2000', {});
      await service.idle();
      await waitFor(() => rt.from(format).length > 0, `the .${format} handler's result`);
      // Every handler follows 2000, so earlier tests' events count here too: one distinct result.
      assert.deepEqual(
        [...new Set(rt.from(format).map((e) => e.message))],
        [`${format} cfg 2000`],
        `the .${format} handler ran in its worker (event ${source.uuid})`,
      );
    });
  }

  test('a handler whose module is missing or throws on import is listed failed with the reason', () => {
    const service = rt.runtime.services.extensions;
    assert.ok(service);
    const missing = service.get('missing');
    assert.equal(missing?.state, 'failed');
    assert.match(missing?.lastError?.message ?? '', /no module found/);
    const throws = service.get('throws');
    assert.equal(throws?.state, 'failed');
    assert.match(throws?.lastError?.message ?? '', /broken on import/);
    const failed = service.list().filter((h) => h.state === 'failed').map((h) => h.name);
    assert.deepEqual(failed.sort(), ['missing', 'throws']);
  });
});
