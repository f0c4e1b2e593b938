// Magpie webhooks from a separate file or folder (`webhooks_path`): each file
// (YAML or JSON) holds a `webhooks:` list whose entries are appended to the
// config's. Every entry is validated; every problem is returned with its file
// and key, so one bad entry refuses the whole set (Magpie's rule).

import { listConfigFiles, parseConfigFile } from '../config/load-files.js';
import type { ConfigProblem } from '../errors.js';
import { magpieWebhookSchema, type MagpieWebhookConfig } from './config-schema.js';
import type { WebhookOrigin } from './config-checks.js';

export interface LoadedWebhooks {
  readonly webhooks: MagpieWebhookConfig[];
  /** Where each entry came from, for problems (`webhooks.0` in `hooks/a.yaml`). */
  readonly origins: WebhookOrigin[];
  readonly files: string[];
  readonly problems: ConfigProblem[];
}

export async function loadWebhookFiles(path: string): Promise<LoadedWebhooks> {
  const listed = await listConfigFiles(path);
  const out: LoadedWebhooks = { webhooks: [], origins: [], files: listed.files, problems: [...listed.problems] };
  for (const file of listed.files) {
    const parsed = await parseConfigFile(file);
    out.problems.push(...parsed.problems);
    if (parsed.value === undefined) continue;
    for (const key of Object.keys(parsed.value)) {
      if (key !== 'webhooks') out.problems.push({ file, key, message: `unknown key "${key}"; a webhooks file holds only "webhooks:"` });
    }
    const list = parsed.value['webhooks'];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      out.problems.push({ file, key: 'webhooks', message: 'must be a list of webhooks' });
      continue;
    }
    list.forEach((entry, i) => {
      const result = magpieWebhookSchema.safeParse(entry);
      if (result.success) {
        out.webhooks.push(result.data);
        out.origins.push({ file, key: `webhooks.${i}` });
        return;
      }
      for (const issue of result.error.issues) {
        const sub = issue.path.map(String).join('.');
        const message =
          issue.code === 'unrecognized_keys'
            ? `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
            : issue.code === 'invalid_type' && /received undefined$/.test(issue.message)
              ? 'is required'
              : issue.message;
        out.problems.push({ file, key: `webhooks.${i}${sub === '' ? '' : `.${sub}`}`, message });
      }
    });
  }
  return out;
}
