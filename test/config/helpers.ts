import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { validateConfigSources } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/** A temp folder removed after the test; `write` puts files in it. */
export function tempConfigDir(t: { after(fn: () => void): void }): { dir: string; write(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(name, text) {
      const file = join(dir, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}

/** The problems a config with these handlers has (none: []), as `{ key, message }`. */
export function handlerProblems(handlers: unknown[]): Array<{ key: string; message: string }> {
  try {
    validateConfigSources([{ value: { handlers } } as never]);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => ({ key: p.key ?? '', message: p.message }));
  }
}
