// Console sessions: a gateway token exchanged (POST /v1/session) for a random
// session id carried in an HttpOnly, SameSite=Strict cookie, plus a CSRF
// token the page keeps in memory and sends on every state-changing request.
// Kept in memory on this node only (a restart signs everyone out). Each
// session keeps the digest of the token it was made from, so a config reload
// that rotates or removes that token ends it (TokenAuth.adopt calls retain()).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../roles.js';

/** Who a session is (auth.ts's Principal; named here so auth.ts can import this module). */
export interface SessionPrincipal {
  readonly name: string;
  readonly role: Role;
}

/** The cookie's name. */
export const SESSION_COOKIE = 'hkw_session';
/** The header a cookie-authenticated state-changing request carries. */
export const CSRF_HEADER = 'x-csrf-token';

export interface Session {
  readonly id: string;
  readonly principal: SessionPrincipal;
  readonly csrfToken: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
  /** SHA-256 of the token it was made from (never the token). */
  readonly tokenDigest: Buffer;
}

/** At most this many sessions live at once: the oldest go first (sign-in is public, memory must stay bounded). */
const MAX_SESSIONS = 10_000;

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlSeconds: number, now: () => number = Date.now) {
    this.#ttlMs = ttlSeconds * 1000;
    this.#now = now;
  }

  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  create(principal: SessionPrincipal, tokenDigest: Buffer): Session {
    this.#sweep();
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    const session: Session = Object.freeze({
      id: randomBytes(32).toString('base64url'),
      principal,
      csrfToken: randomBytes(32).toString('base64url'),
      expiresAt: this.#now() + this.#ttlMs,
      tokenDigest,
    });
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session of that id; an expired one is removed and undefined. */
  get(id: string): Session | undefined {
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): boolean {
    return this.#sessions.delete(id);
  }

  /** Ends every session whose token is not among `digests` any more (a reload rotated or removed it). */
  retain(digests: readonly Buffer[]): void {
    for (const [id, session] of this.#sessions) {
      if (!digests.some((d) => d.equals(session.tokenDigest))) this.#sessions.delete(id);
    }
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Drops expired sessions (at sign-in, so an idle node does not need a timer). */
  #sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(id);
  }
}

/** True when the header's value is the session's CSRF token (constant time). */
export function csrfMatches(session: Session, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header, 'utf8');
  const wanted = Buffer.from(session.csrfToken, 'utf8');
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
