// The config as the console shows and edits it: the effective config with
// every secret redacted, where each value came from (a file and its key, an
// environment variable, or the default), the file's text redacted, and a
// draft of that file validated or written in place (atomically, the
// previous text kept as `<file>.bak`).

import { copyFile, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Scalar } from 'yaml';
import { ConfigDraftError, ConfigNotWritableError, type ConfigProblem } from '../errors.js';
import { envOrigin, ENV_SETTINGS } from './env.js';
import { draftProblems, loadConfig } from './load.js';
import { formatOf, parseConfigText, type ConfigFormat } from './load-files.js';
import { localPathOf, originOf } from './load-merge.js';
import { redactAt, redactConfig, REDACTED, restoreRedacted } from './redact-config.js';
import type { HookworkConfig } from './schema.js';

/** Where one value of the effective config came from. */
export interface ValueSource {
  readonly file: string | null;
  readonly key: string | null;
  readonly env: string | null;
  readonly default: boolean;
}

export interface ConfigView {
  readonly config: unknown;
  readonly sources: Readonly<Record<string, ValueSource>>;
  readonly text: string | null;
  readonly format: ConfigFormat | null;
}

/** Where the config in force was loaded from (the runtime's configFile). */
export interface ConfigLocation {
  readonly path: string;
  readonly env?: NodeJS.ProcessEnv | undefined;
}

/** Every leaf of a value (scalars, empty lists and sections) with its dotted key. */
function leaves(value: unknown, path: string[], out: string[][]): void {
  if (Array.isArray(value) && value.length > 0) value.forEach((v, i) => leaves(v, [...path, String(i)], out));
  else if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, [...path, k], out);
  } else if (path.length > 0) out.push(path);
}

const ENV_BY_ORIGIN = new Map(ENV_SETTINGS.map((s) => [envOrigin(s.variable), s.variable]));

/**
 * The effective config, redacted, with each value's source. Without a
 * location (a config object given by an embedding program) no value has a
 * file and none is marked default.
 */
export async function configView(config: HookworkConfig, location: ConfigLocation | undefined): Promise<ConfigView> {
  const shown = redactConfig(config);
  const keys: string[][] = [];
  leaves(config, [], keys);
  const sources: Record<string, ValueSource> = {};
  if (location === undefined) {
    for (const key of keys) sources[key.join('.')] = { file: null, key: null, env: null, default: false };
    return { config: shown, sources, text: null, format: null };
  }
  const loaded = await loadConfig(location.path, location.env === undefined ? {} : { env: location.env });
  for (const key of keys) {
    const origin = originOf(loaded.origins, key);
    const env = origin === undefined ? undefined : ENV_BY_ORIGIN.get(origin);
    sources[key.join('.')] =
      origin === undefined
        ? { file: null, key: null, env: null, default: true }
        : env !== undefined
          ? { file: null, key: null, env, default: false }
          : { file: origin, key: localPathOf(loaded.localPaths, key), env: null, default: false };
  }
  const single = loaded.files.length === 1 ? (loaded.files[0] as string) : undefined;
  const format = single === undefined ? undefined : formatOf(single);
  if (single === undefined || (format !== 'yaml' && format !== 'json')) return { config: shown, sources, text: null, format: format ?? null };
  return { config: shown, sources, text: redactFileText(single, await readFile(single, 'utf8')), format };
}

/** Every scalar of a YAML node with its key path. */
function eachScalar(node: unknown, path: string[], fn: (scalar: Scalar, path: string[]) => void): void {
  if (isMap(node)) {
    for (const pair of node.items) eachScalar(pair.value, [...path, String(isScalar(pair.key) ? pair.key.value : pair.key)], fn);
  } else if (isSeq(node)) node.items.forEach((item, i) => eachScalar(item, [...path, String(i)], fn));
  else if (isScalar(node)) fn(node, path);
}

/**
 * A YAML or JSON config file's text with its secrets redacted: YAML through
 * its document (comments and layout stay), JSON as data (it has neither).
 */
function redactFileText(file: string, text: string): string {
  if (formatOf(file) === 'json') {
    const parsed = parseConfigText(file, text).value;
    return parsed === undefined ? '' : `${JSON.stringify(redactConfig(parsed), null, 2)}\n`;
  }
  const doc = parseDocument(text);
  eachScalar(doc.contents, [], (scalar, path) => {
    const shown = redactAt(scalar.value, path);
    if (shown !== scalar.value) scalar.value = shown;
  });
  return doc.toString();
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

/** The one YAML or JSON file a draft replaces; ConfigNotWritableError otherwise. */
export async function editableFile(location: ConfigLocation | undefined): Promise<string> {
  if (location === undefined) throw new ConfigNotWritableError('this gateway was given its config as an object, not a file');
  const info = await stat(location.path).catch(() => undefined);
  if (info === undefined || !info.isFile()) throw new ConfigNotWritableError(`${location.path} is a folder of files (or missing), not one file`);
  const format = formatOf(location.path);
  if (format !== 'yaml' && format !== 'json') throw new ConfigNotWritableError(`${basename(location.path)} is an INI file (only YAML and JSON files are edited here)`);
  return location.path;
}

/**
 * The draft's text with each value showing "[redacted]" where the file in
 * force has a secret put back to that secret (see restoreRedacted), so
 * validation and the written file see the real values. YAML keeps its
 * comments and layout; JSON is written as data.
 */
export async function resolveDraft(file: string, draft: string): Promise<string> {
  if (!draft.includes(REDACTED)) return draft;
  const parsedDraft = parseConfigText(file, draft);
  if (parsedDraft.value === undefined) return draft;
  const current = parseConfigText(file, await readFile(file, 'utf8')).value;
  if (formatOf(file) === 'json') return `${JSON.stringify(restoreRedacted(parsedDraft.value, current), null, 2)}\n`;
  const doc = parseDocument(draft);
  eachScalar(doc.contents, [], (scalar, path) => {
    if (typeof scalar.value !== 'string' || !scalar.value.includes(REDACTED)) return;
    const restored = restoreRedacted(scalar.value, valueAt(current, path));
    if (restored !== scalar.value) scalar.value = restored;
  });
  return doc.toString();
}

/** Every problem of a draft of `file` (with the "[redacted]" secrets kept), each with its key. */
export async function validateDraft(file: string, draft: string, env?: NodeJS.ProcessEnv): Promise<ConfigProblem[]> {
  return draftProblems(file, await resolveDraft(file, draft), env);
}

/**
 * Validates the draft, writes it over `file` (a temporary file renamed over
 * it, the previous text kept as `<file>.bak`), then runs `reload`; when the
 * reload fails, puts the previous text back and rethrows. ConfigDraftError
 * when the draft does not load (nothing written).
 */
export async function applyDraft<T>(file: string, draft: string, env: NodeJS.ProcessEnv | undefined, reload: () => Promise<T>): Promise<T> {
  const text = await resolveDraft(file, draft);
  const problems = draftProblems(file, text, env);
  if (problems.length > 0) throw new ConfigDraftError(problems);
  const backup = `${file}.bak`;
  await copyFile(file, backup);
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(temp, text, { mode: (await stat(file)).mode });
  await rename(temp, file);
  try {
    return await reload();
  } catch (err) {
    // The previous text back in place, atomically as well (the backup stays as .bak).
    const undo = `${temp}.undo`;
    await copyFile(backup, undo);
    await rename(undo, file);
    throw err;
  }
}
