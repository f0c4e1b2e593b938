// Headers as an attempt's record keeps them: names lower-case, and the value
// of every header named in a redaction list replaced by "[redacted]", so no
// credential reaches the store, the admin API or the console. The list is
// given by the sender: the headers that always carry credentials, plus those
// its config fills with secrets (its auth, headers named like a secret).

/** What a redacted header value is shown as. */
export const REDACTED_HEADER = '[redacted]';

/** Always redacted, whatever the config. */
export const ALWAYS_REDACTED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** A configured header name that looks like it carries a credential (`x-api-key`, `x-auth-token`…). */
const SECRET_NAME = /token|secret|key|password|passwd|auth|session|credential/i;

/**
 * The names to redact for a sender: the always-redacted ones, the names of
 * its configured headers that look like credentials, and `extra` (headers
 * another part fills with a secret, e.g. an auth scheme's).
 */
export function redactionList(configuredNames: Iterable<string>, extra: Iterable<string> = []): ReadonlySet<string> {
  const out = new Set(ALWAYS_REDACTED_HEADERS);
  for (const name of configuredNames) if (SECRET_NAME.test(name)) out.add(name.toLowerCase());
  for (const name of extra) out.add(name.toLowerCase());
  return out;
}

/** Flat name/value pairs as a record (names lower-case; repeated names joined with ", "), the listed ones redacted. */
export function redactHeaders(flat: readonly string[], redact: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = (flat[i] as string).toLowerCase();
    const value = redact.has(name) ? REDACTED_HEADER : (flat[i + 1] as string);
    out[name] = Object.hasOwn(out, name) && !redact.has(name) ? `${out[name]}, ${value}` : value;
  }
  return out;
}

/**
 * The header records of one sender's attempts, which each attempt's record
 * keeps for as long as its delivery is kept (10,000 done ones in the memory
 * store), made with less work than redactHeaders() each time:
 * - of(): a receiver answers with the same headers almost every time (the
 *   date changes once a second). A list equal to the last one gives the last
 *   record, frozen and shared: no new object per response to build, copy from
 *   the young generation to the old one, and keep.
 * - fresh(): a request's headers have the same names every time but new
 *   values (id, timestamp, signature). A list with the last one's names, none
 *   repeated, fills a copy of the last record: no name lowered, no member
 *   added one at a time (a fifth one needs a second backing store).
 * One instance serves one of the two.
 */
export class RedactedHeaderRecords {
  readonly #redact: ReadonlySet<string>;
  // of(): the last list and its record.
  #flat: readonly string[] = [];
  #record: Readonly<Record<string, string>> | undefined;
  // fresh(): the last list's names as given, as members, whether each is redacted, and its record.
  #names: readonly string[] = [];
  #keys: readonly string[] = [];
  #redacted: readonly boolean[] = [];
  #shape: Readonly<Record<string, string>> | undefined;

  constructor(redact: ReadonlySet<string>) {
    this.#redact = redact;
  }

  /** The record of `flat`, shared: the last one when `flat` equals the last list. */
  of(flat: readonly string[]): Readonly<Record<string, string>> {
    const last = this.#flat;
    if (this.#record !== undefined && last.length === flat.length) {
      let i = 0;
      while (i < flat.length && flat[i] === last[i]) i++;
      if (i === flat.length) return this.#record;
    }
    const record = Object.freeze(redactHeaders(flat, this.#redact));
    this.#flat = flat;
    this.#record = record;
    return record;
  }

  /** A new record of `flat`. */
  fresh(flat: readonly string[]): Record<string, string> {
    const names = this.#names;
    const shape = this.#shape;
    if (shape !== undefined && names.length * 2 === flat.length) {
      let i = 0;
      while (i < names.length && flat[2 * i] === names[i]) i++;
      if (i === names.length) {
        const out: Record<string, string> = { ...shape };
        const keys = this.#keys;
        const redacted = this.#redacted;
        for (let k = 0; k < keys.length; k++) if (redacted[k] !== true) out[keys[k] as string] = flat[2 * k + 1] as string;
        return out;
      }
    }
    const out = redactHeaders(flat, this.#redact);
    const given: string[] = [];
    const keys: string[] = [];
    for (let k = 0; k + 1 < flat.length; k += 2) {
      given.push(flat[k] as string);
      keys.push((flat[k] as string).toLowerCase());
    }
    // A repeated name is one member, its values joined: such lists are built afresh each time.
    if (new Set(keys).size === keys.length) {
      this.#names = given;
      this.#keys = keys;
      this.#redacted = keys.map((key) => this.#redact.has(key));
      this.#shape = out;
    }
    return out;
  }
}
