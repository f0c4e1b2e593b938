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
