// URL credentials (`scheme://user:password@host`) must not reach what
// operators read: a delivery's lastError, its attempt log, the CLI, the
// delivery-failed event. Targets build their messages from many sources (an
// SSRF refusal quotes the URL as configured, a library error may quote it),
// so the text is cleaned once, where the dispatcher records an attempt.

/** `scheme://userinfo@` (userinfo has no `/`, `@` or whitespace). */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@?#]+@/gi;

/** The text with the user and password of every URL in it replaced by `***`. */
export function stripUrlCredentials(text: string): string {
  // Most messages quote no URL with credentials: no regex run, no copy.
  if (!text.includes('@')) return text;
  return text.replace(USERINFO, '$1***@');
}

/**
 * A target's URL as operators may see it (GET /v1/targets): user and
 * password as `***`, and each query value as `[redacted]` (API keys often
 * travel there). Template placeholders stay as written.
 */
export function redactUrl(text: string): string {
  const noCredentials = stripUrlCredentials(text);
  const q = noCredentials.indexOf('?');
  if (q === -1) return noCredentials;
  const hash = noCredentials.indexOf('#', q);
  const query = noCredentials.slice(q + 1, hash === -1 ? undefined : hash);
  const shown = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? pair : `${pair.slice(0, eq)}=[redacted]`;
    })
    .join('&');
  return `${noCredentials.slice(0, q)}?${shown}${hash === -1 ? '' : noCredentials.slice(hash)}`;
}
