// E-mail addresses as a handler may write them: `user@example.com` or
// `Display Name <user@example.com>`. Checked at config time for static
// values and after rendering for templated ones; a CR or LF anywhere is
// refused, so a value from an event can never start a header of its own.

/** Local part (dot-atom, RFC 5322) and a host name of letters, digits, hyphens and dots. */
const MAILBOX = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** A display name: no angle brackets, no control characters (quotes are kept as written). */
const DISPLAY = /^[^<>\u0000-\u001f\u007f]*$/;
const NAMED = /^(.*?)\s*<([^<>]*)>$/;
/** Carriage return or line feed: the only way a value could add a header. */
export const LINE_BREAK = /[\r\n]/;

/** Why `text` is not one e-mail address, or undefined when it is. */
export function addressProblem(text: string): string | undefined {
  if (LINE_BREAK.test(text)) return `"${JSON.stringify(text).slice(1, -1)}" contains a line break (CR or LF), which could add a header`;
  const trimmed = text.trim();
  if (trimmed === '') return 'an address must not be empty';
  const named = NAMED.exec(trimmed);
  const mailbox = named === null ? trimmed : (named[2] as string).trim();
  if (named !== null && !DISPLAY.test(named[1] as string)) return `"${trimmed}" has a display name with characters an address cannot have`;
  if (!MAILBOX.test(mailbox)) return `"${trimmed}" is not an e-mail address; write user@example.com or "Name <user@example.com>"`;
  return undefined;
}
