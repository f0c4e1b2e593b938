// Loads a config from a file, a folder of files, or the embedded default,
// and validates it as a whole: every file is parsed, the files are merged,
// the result is checked against the schema and the registered checks, and
// every problem is reported at once with its file and dotted key. One bad
// entry rejects the whole config (Magpie's rule).

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { runConfigChecks } from './checks.js';
import { listConfigFiles, parseConfigFile } from './load-files.js';
import { mergeSources, originOf, type ConfigSource } from './load-merge.js';
import { allowedKeys, schemaAt } from './load-schema-walk.js';
import { configSchema, type HookworkConfig } from './schema.js';

export interface LoadedConfig {
  config: HookworkConfig;
  /** The folder relative paths in the config resolve against. */
  baseDir: string;
  /** The files read, in merge order (absolute paths). */
  files: readonly string[];
}

/** The embedded default config, used when no path is given. */
export const DEFAULT_CONFIG_PATH: string = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export type { ConfigSource } from './load-merge.js';

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function dotted(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
    return `is required (expected ${issue.expected})`;
  }
  if (issue.code === 'invalid_union') {
    const discriminator = (issue as { discriminator?: string }).discriminator;
    if (discriminator !== undefined) {
      return `${issue.message}; got ${JSON.stringify(valueAt(root, issue.path)) ?? 'nothing'}`;
    }
    const branches = issue.errors
      .map((branch) => branch.map((inner) => (inner.path.length > 0 ? `${dotted(inner.path)}: ` : '') + inner.message).join(', '))
      .filter((text) => text !== '');
    if (branches.length > 0) return `${issue.message}; none of the accepted forms fits: ${branches.join(' | ')}`;
  }
  return issue.message;
}

function issueProblems(issue: z.core.$ZodIssue, merged: unknown, origins: ReadonlyMap<string, string>): ConfigProblem[] {
  const withFile = (path: readonly PropertyKey[], message: string): ConfigProblem => {
    const file = originOf(origins, path);
    return { ...(file === undefined ? {} : { file }), key: dotted(path), message };
  };
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(schemaAt(configSchema, issue.path as (string | number)[], merged), valueAt(merged, issue.path));
    const hint = allowed !== undefined ? `; allowed keys here: ${allowed.join(', ')}` : '';
    return issue.keys.map((key) => withFile([...issue.path, key], `unknown key "${key}"${hint}`));
  }
  return [withFile(issue.path, describeIssue(issue, merged))];
}

/**
 * The config with every section that fails its schema replaced by its
 * default, so the checks can still look at the sections that are valid and
 * one round of `validate` lists their problems too.
 */
function validSectionsOnly(merged: Record<string, unknown>): HookworkConfig {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const section = (schema as z.ZodType).safeParse(merged[key]);
    out[key] = section.success ? section.data : (schema as z.ZodType).parse(undefined);
  }
  return out as HookworkConfig;
}

/**
 * Validates already-parsed sources as one config. Throws ConfigError listing
 * every problem (with `extraProblems`, e.g. parse errors, first).
 */
export function validateConfigSources(
  sources: readonly ConfigSource[],
  extraProblems: readonly ConfigProblem[] = [],
): HookworkConfig {
  const merged = mergeSources(sources);
  const problems: ConfigProblem[] = [...extraProblems, ...merged.problems];
  const parsed = configSchema.safeParse(merged.value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...issueProblems(issue, merged.value, merged.origins));
  }
  const checked = parsed.success ? parsed.data : validSectionsOnly(merged.value);
  for (const problem of runConfigChecks(checked)) {
    if (problem.file !== undefined) {
      problems.push(problem);
      continue;
    }
    const file = originOf(merged.origins, problem.key === '' ? [] : problem.key.split('.'));
    problems.push(file === undefined ? problem : { ...problem, file });
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/**
 * Loads `path` (a .yaml/.yml/.json/.ini/.conf file, or a folder of them), or
 * the embedded default when no path is given. Throws ConfigError on any problem.
 */
export async function loadConfig(path?: string): Promise<LoadedConfig> {
  const target = resolve(path ?? DEFAULT_CONFIG_PATH);
  const listed = await listConfigFiles(target);
  const problems: ConfigProblem[] = [...listed.problems];
  if (listed.files.length === 0) throw new ConfigError(problems);
  const sources: ConfigSource[] = [];
  for (const file of listed.files) {
    const parsed = await parseConfigFile(file);
    problems.push(...parsed.problems);
    if (parsed.value !== undefined) sources.push({ file, value: parsed.value });
  }
  const config = validateConfigSources(sources, problems);
  const baseDir = path === undefined ? process.cwd() : listed.isFolder ? target : dirname(target);
  return { config, baseDir, files: listed.files };
}
