// Magpie webhooks from a separate file or folder (`webhooks_path`): each file
// (YAML or JSON) holds a `webhooks:` list whose entries are appended to the
// config's. Every entry is validated; every problem is returned with its file
// and its key in that file, so one bad entry refuses the whole set (Magpie's
// rule). loadConfig reads these files (so `hookwork validate` and `serve`
// see them); the checks that need the rest of the config (known actions,
// unique names) run on `entries`, valid or not.

import type { WebhookFileEntry } from './checks.js';
import { listConfigFiles, parseConfigFile } from './load-files.js';
import type { ConfigSource } from './load-merge.js';
import type { ConfigProblem } from '../errors.js';
import { magpieWebhookSchema, type MagpieWebhookConfig } from '../webhooks/config-schema.js';
import type { WebhookEntry, WebhookOrigin } from './handler-checks.js';

export interface LoadedWebhooks {
  /** The entries that passed their schema. */
  readonly webhooks: MagpieWebhookConfig[];
  /** Where each of `webhooks` came from, for problems (`webhooks.0` in `hooks/a.yaml`). */
  readonly origins: WebhookOrigin[];
  /** Every entry as written, valid or not, with its file and key (for the per-entry checks). */
  readonly entries: WebhookFileEntry[];
  readonly files: string[];
  /** The files' own problems: syntax, unknown top-level keys, each entry's schema problems. */
  readonly problems: ConfigProblem[];
}

const ALLOWED_KEYS = Object.keys(magpieWebhookSchema.shape).join(', ');

function entryProblems(file: string, key: string, entry: unknown): { webhook?: MagpieWebhookConfig; problems: ConfigProblem[] } {
  const result = magpieWebhookSchema.safeParse(entry);
  if (result.success) return { webhook: result.data, problems: [] };
  const problems: ConfigProblem[] = [];
  for (const issue of result.error.issues) {
    const at = [key, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const unknown of issue.keys) problems.push({ file, key: `${at}.${unknown}`, message: `unknown key "${unknown}"; allowed keys here: ${ALLOWED_KEYS}` });
      continue;
    }
    const required = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    problems.push({ file, key: at, message: required ? `is required (expected ${issue.expected})` : issue.message });
  }
  return { problems };
}

/** The webhooks of already-parsed `webhooks_path` files, without touching the disk. */
export function webhooksFromSources(sources: readonly ConfigSource[]): LoadedWebhooks {
  const out: LoadedWebhooks = { webhooks: [], origins: [], entries: [], files: sources.map((s) => s.file), problems: [] };
  for (const { file, value } of sources) {
    for (const key of Object.keys(value)) {
      if (key !== 'webhooks') out.problems.push({ file, key, message: `unknown key "${key}"; a webhooks file holds only "webhooks:"` });
    }
    const list = value['webhooks'];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      out.problems.push({ file, key: 'webhooks', message: 'must be a list of webhooks' });
      continue;
    }
    list.forEach((entry: unknown, i) => {
      const key = `webhooks.${i}`;
      out.entries.push({ file, key, value: entry });
      const checked = entryProblems(file, key, entry);
      out.problems.push(...checked.problems);
      if (checked.webhook !== undefined) {
        out.webhooks.push(checked.webhook);
        out.origins.push({ file, key });
      }
    });
  }
  return out;
}

/** Reads the `webhooks_path` file or folder (absolute, or relative to the working directory). */
export async function loadWebhookFiles(path: string): Promise<LoadedWebhooks> {
  const listed = await listConfigFiles(path);
  const problems: ConfigProblem[] = listed.problems.map((p) => ({
    ...p,
    message: p.message.replace(/^the config path/, 'the webhooks_path').replace(/^the config folder/, 'the webhooks_path folder'),
  }));
  const sources: ConfigSource[] = [];
  for (const file of listed.files) {
    const parsed = await parseConfigFile(file);
    problems.push(...parsed.problems);
    if (parsed.value !== undefined) sources.push({ file, value: parsed.value });
  }
  const loaded = webhooksFromSources(sources);
  return { ...loaded, files: listed.files, problems: [...problems, ...loaded.problems] };
}

/**
 * The config's own webhooks followed by the loaded files' entries, as the
 * per-entry checks want them: `targetsConfigProblems(config, { entries })`
 * checks every entry, also those that failed their schema.
 */
export function webhookEntries(config: { readonly webhooks: readonly unknown[] }, loaded?: Pick<LoadedWebhooks, 'entries'>): WebhookEntry[] {
  return [...config.webhooks.map((value, i) => ({ value, key: `webhooks.${i}` })), ...(loaded?.entries ?? [])];
}
