// Secrets in a config, as the console shows it: every value that is a
// secret (a token, a password, a webhook's signing secrets, a header that
// carries credentials, the password of a URL) becomes "[redacted]", in the
// effective config and in the file's text. A draft sent back with
// "[redacted]" where a secret was keeps the secret in force.

/** What a shown secret is replaced with (the same word the delivery tools use). */
export const REDACTED = '[redacted]';

/** Keys whose value is a secret (`token_env`, naming a variable, is not). */
const SECRET_KEY = /^(token|secret|secrets|password|passphrase|api_key|apikey|private_key|client_secret|access_token|refresh_token)$|_(secret|token|password)$/i;
/** Header names (in a `headers` map) whose value carries credentials. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|key|signature|password|auth/i;
/** `scheme://user:password@`: the password part. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/@:?#]*:)([^\s/@?#]+)@/gi;

function secretAt(key: string, parent: string | undefined): boolean {
  return SECRET_KEY.test(key) || (parent !== undefined && SECRET_KEY.test(parent)) || (parent === 'headers' && SECRET_HEADER.test(key));
}

/**
 * A copy of `value` with every secret replaced by REDACTED; `found` gets
 * each secret text replaced (to redact the file's text too).
 */
export function redactConfig<T>(value: T, found: string[] = []): T {
  return walk(value, undefined, undefined, found) as T;
}

function walk(value: unknown, key: string | undefined, parent: string | undefined, found: string[]): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && secretAt(key, parent)) {
      if (value !== '' && value !== REDACTED) found.push(value);
      return value === '' ? value : REDACTED;
    }
    if (!value.includes('@')) return value;
    return value.replace(URL_PASSWORD, (_all, head: string, password: string) => {
      found.push(password);
      return `${head}${REDACTED}@`;
    });
  }
  if (typeof value === 'number' || typeof value === 'boolean') return key !== undefined && secretAt(key, parent) && typeof value === 'number' ? REDACTED : value;
  if (Array.isArray(value)) return value.map((item) => walk(item, key, parent, found));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, k, key, found);
    return out;
  }
  return value;
}

/**
 * One value at a key (`key` its name, `parent` the name of the section or
 * list holding it; list indexes do not count), redacted as redactConfig would.
 */
export function redactAt(value: unknown, path: readonly string[]): unknown {
  const names = path.filter((p) => !/^\d+$/.test(p));
  return walk(value, names.at(-1), names.at(-2), []);
}

/**
 * The draft with each value that holds REDACTED put back from `current` (the
 * file in force, parsed) at the same key, when redacting that current value
 * gives exactly the draft's; `kept` gets, in the draft's order, the secret
 * text each REDACTED in the draft stands for. A REDACTED with nothing to
 * stand for stays (and fails validation where a secret must be real).
 */
export function restoreRedacted(draft: unknown, current: unknown, kept: string[] = []): unknown {
  if (typeof draft === 'string') {
    if (!draft.includes(REDACTED) || current === undefined) return draft;
    const secrets: string[] = [];
    const shown = typeof current === 'string' || typeof current === 'number' ? walkOne(current, secrets) : undefined;
    if (shown === draft) {
      kept.push(...secrets);
      return current;
    }
    // An edited URL (another host or path) keeps the password its user had.
    if (typeof current !== 'string') return draft;
    const passwords = new Map<string, string>();
    for (const m of current.matchAll(URL_PASSWORD)) passwords.set((m[1] as string).replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''), m[2] as string);
    return draft.replace(URL_PASSWORD, (all, head: string, password: string) => {
      const secret = password === REDACTED ? passwords.get(head.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')) : undefined;
      if (secret === undefined) return all;
      kept.push(secret);
      return `${head}${secret}@`;
    });
  }
  if (Array.isArray(draft)) return draft.map((item, i) => restoreRedacted(item, Array.isArray(current) ? current[i] : undefined, kept));
  if (draft !== null && typeof draft === 'object') {
    const out: Record<string, unknown> = {};
    const base = current !== null && typeof current === 'object' && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
    for (const [k, v] of Object.entries(draft)) out[k] = restoreRedacted(v, base[k], kept);
    return out;
  }
  return draft;
}

/** How one current value (a secret, or a URL with a password) shows: REDACTED, or the URL with REDACTED for its password. */
function walkOne(value: string | number, secrets: string[]): string {
  if (typeof value === 'number' || !value.includes('://')) {
    secrets.push(String(value));
    return REDACTED;
  }
  const shown = value.replace(URL_PASSWORD, (_all, head: string, password: string) => {
    secrets.push(password);
    return `${head}${REDACTED}@`;
  });
  if (secrets.length > 0) return shown;
  secrets.push(value);
  return REDACTED;
}
