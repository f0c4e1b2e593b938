// Every check a loaded config goes through, in one list (the events', the
// handlers' and the schedules'), plus those an embedder adds: loadConfig,
// parseConfig and `hookwork validate` all run this list.

import type { ConfigProblem } from '../errors.js';
import type { ConfigCheck, ConfigCheckContext } from './checks.js';
import { EVENT_CHECKS } from './event-checks.js';
import { handlerChecks } from './handler-checks.js';
import { SCHEDULE_CHECKS } from './schedule-checks.js';
import type { HookworkConfig } from './schema.js';

interface RegisteredCheck {
  readonly name: string;
  readonly check: ConfigCheck;
}

const checks: RegisteredCheck[] = [...EVENT_CHECKS, handlerChecks, ...SCHEDULE_CHECKS].map((check) => ({ name: check.name, check }));

/** Adds a check run by every loadConfig (an embedder's own rules); returns its disposer. */
export function registerConfigCheck(check: ConfigCheck, name = check.name || 'anonymous check'): () => void {
  const entry: RegisteredCheck = { name, check };
  checks.push(entry);
  return () => {
    const index = checks.indexOf(entry);
    if (index !== -1) checks.splice(index, 1);
  };
}

/** Runs every registered check; a check that throws becomes a problem, never a crash. */
export function runConfigChecks(config: HookworkConfig, context: Partial<ConfigCheckContext> = {}): ConfigProblem[] {
  const full: ConfigCheckContext = {
    raw: context.raw ?? (config as unknown as Record<string, unknown>),
    placeOf: context.placeOf ?? ((key) => key),
    webhookFiles: context.webhookFiles ?? [],
  };
  const problems: ConfigProblem[] = [];
  for (const { name, check } of [...checks]) {
    try {
      problems.push(...check(config, full));
    } catch (err) {
      problems.push({ key: '', message: `the config check "${name}" failed: ${(err as Error).message ?? String(err)}` });
    }
  }
  return problems;
}

