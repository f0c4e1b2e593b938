// Loads a config from a file, a folder of files, or the embedded default,
// and validates it as a whole: every file is parsed, the files are merged,
// the result is checked against the schema and the registered checks, and
// every problem is reported at once with its file and dotted key. One bad
// entry rejects the whole config (Magpie's rule).

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { MagpieWebhookConfig } from '../webhooks/config-schema.js';
import { loadWebhookFiles, webhooksFromSources, type LoadedWebhooks } from './webhook-files.js';
import { markChecked } from './checks.js';
import { conditionWarnings } from './condition-warnings.js';
import { applyEnv } from './env.js';
import { runConfigChecks } from './run-checks.js';
import { listConfigFiles, parseConfigFile, parseConfigText } from './load-files.js';
import { localPathOf, mergeSources, originOf, placeOf, type ConfigSource, type MergedConfig } from './load-merge.js';
import { allowedKeys, schemaAt } from './load-schema-walk.js';
import { configSchema, type HookworkConfig } from './schema.js';

export interface LoadedConfig {
  config: HookworkConfig;
  /** The folder relative paths in the config resolve against. */
  baseDir: string;
  /** The files read, in merge order (absolute paths). */
  files: readonly string[];
  /** The `webhooks_path` files read (absolute paths; empty without webhooks_path). */
  webhookFiles: readonly string[];
  /** Every Magpie webhook, validated: the config's own, then those of the webhooks_path files. */
  webhooks: readonly MagpieWebhookConfig[];
  /** What is accepted but most likely wrong (a condition on a field the event's data_schema lacks), with file and key. */
  warnings: readonly ConfigProblem[];
  /** Dotted key -> the file (or `environment variable X`) that set it; a key with no entry up its path is a default. */
  origins: ReadonlyMap<string, string>;
  /** Dotted key of a moved list entry -> its key in its own file (see load-merge.ts). */
  localPaths: ReadonlyMap<string, string>;
}

export interface ValidateSourcesOptions {
  /**
   * The parsed files of `webhooks_path`, validated with the config (loadConfig
   * reads them from the disk; without them only the config's own webhooks are
   * checked).
   */
  webhookSources?: readonly ConfigSource[];
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

function issueProblems(issue: z.core.$ZodIssue, merged: MergedConfig): ConfigProblem[] {
  const withFile = (path: readonly PropertyKey[], message: string): ConfigProblem => {
    const file = originOf(merged.origins, path);
    return { ...(file === undefined ? {} : { file }), key: localPathOf(merged.localPaths, path), message };
  };
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(schemaAt(configSchema, issue.path as (string | number)[], merged.value), valueAt(merged.value, issue.path));
    const hint = allowed !== undefined ? `; allowed keys here: ${allowed.join(', ')}` : '';
    return issue.keys.map((key) => withFile([...issue.path, key], `unknown key "${key}"${hint}`));
  }
  return [withFile(issue.path, describeIssue(issue, merged.value))];
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
 * every problem (with `extraProblems`, e.g. parse errors, first). Keys are
 * each file's own positions (`handlers.1` of the file that gave the fourth
 * handler after merging).
 */
export function validateConfigSources(
  sources: readonly ConfigSource[],
  extraProblems: readonly ConfigProblem[] = [],
  options: ValidateSourcesOptions = {},
): HookworkConfig {
  const webhookFiles = options.webhookSources === undefined ? undefined : webhooksFromSources(options.webhookSources);
  return validateMerged(mergeSources(sources), extraProblems, webhookFiles);
}

function validateMerged(merged: MergedConfig, extraProblems: readonly ConfigProblem[], webhookFiles: LoadedWebhooks | undefined): HookworkConfig {
  const problems: ConfigProblem[] = [...extraProblems, ...merged.problems];
  const parsed = configSchema.safeParse(merged.value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...issueProblems(issue, merged));
  }
  if (webhookFiles !== undefined) problems.push(...webhookFiles.problems);
  const checked = parsed.success ? parsed.data : validSectionsOnly(merged.value);
  const context = {
    raw: merged.value,
    placeOf: (key: string) => placeOf(merged, key === '' ? [] : key.split('.')),
    webhookFiles: webhookFiles?.entries ?? [],
  };
  for (const problem of runConfigChecks(checked, context)) {
    if (problem.file !== undefined || problem.key === '') {
      problems.push(problem);
      continue;
    }
    const path = problem.key.split('.');
    const file = originOf(merged.origins, path);
    problems.push({ ...(file === undefined ? {} : { file }), key: localPathOf(merged.localPaths, path), message: problem.message });
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return markChecked(parsed.data);
}

/**
 * Loads `path` (a .yaml/.yml/.json/.ini/.conf file, or a folder of them), or
 * the embedded default when no path is given, with the `webhooks_path` file
 * or folder it names (relative to the config's folder), and with
 * `options.env`'s HOOKWORK_* variables over the files. Throws ConfigError
 * on any problem, in the config or in the webhooks files.
 */
export interface LoadOptions {
  /**
   * Apply the HOOKWORK_* variables of this environment over the files
   * (config/env.ts lists them). The `hookwork` command passes process.env.
   */
  env?: NodeJS.ProcessEnv;
}

export async function loadConfig(path?: string, options: LoadOptions = {}): Promise<LoadedConfig> {
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
  const baseDir = path === undefined ? process.cwd() : listed.isFolder ? target : dirname(target);
  const files = mergeSources(sources);
  const merged = options.env === undefined ? files : applyEnv(files, options.env);
  const webhooksPath = merged.value['webhooks_path'];
  let webhookFiles: LoadedWebhooks | undefined;
  if (typeof webhooksPath === 'string' && webhooksPath !== '') {
    const folder = resolve(baseDir, webhooksPath);
    const loaded = await loadWebhookFiles(folder);
    // A path that cannot be listed is the config's problem, at its webhooks_path key.
    const setIn = originOf(merged.origins, ['webhooks_path']);
    const located = loaded.problems.map((p) =>
      p.file === folder && p.key === '' && p.message.startsWith('the webhooks_path')
        ? { ...(setIn === undefined ? {} : { file: setIn }), key: 'webhooks_path', message: `${p.message}: ${folder}` }
        : p,
    );
    webhookFiles = { ...loaded, problems: located };
  }
  const config = validateMerged(merged, problems, webhookFiles);
  const warnings = conditionWarnings(config).map((warning): ConfigProblem => {
    const path = warning.key.split('.');
    const file = originOf(merged.origins, path);
    return { ...(file === undefined ? {} : { file }), key: localPathOf(merged.localPaths, path), message: warning.message };
  });
  return {
    config,
    warnings,
    origins: merged.origins,
    localPaths: merged.localPaths,
    baseDir,
    files: listed.files,
    webhookFiles: webhookFiles?.files ?? [],
    webhooks: [...config.webhooks, ...(webhookFiles?.webhooks ?? [])],
  };
}

/**
 * Every problem of a draft of the config file `file` (its text in place of
 * the file's), as loadConfig would find them: parse errors, the schema, the
 * checks, with `env`'s HOOKWORK_* variables over it. Empty when it loads.
 */
export function draftProblems(file: string, text: string, env?: NodeJS.ProcessEnv): ConfigProblem[] {
  const parsed = parseConfigText(file, text);
  if (parsed.value === undefined) return [...parsed.problems];
  const files = mergeSources([{ file, value: parsed.value }]);
  try {
    validateMerged(env === undefined ? files : applyEnv(files, env), parsed.problems, undefined);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}
