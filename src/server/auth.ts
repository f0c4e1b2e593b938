// Bearer-token auth with roles for the gateway. Tokens come from the config
// (inline or from an environment variable) and are compared in constant time
// over their SHA-256 digests, so neither content nor length leaks by timing.
// A config reload swaps the tokens in place (rotation without a restart).
// With the console on, a guard also accepts the session cookie a token was
// exchanged for (sessions.ts); a state-changing request made with the cookie
// must then carry the session's CSRF token, since a browser sends cookies on
// requests other sites make it send.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { HookworkConfig } from '../config/schema.js';
import type { Role } from '../roles.js';
import { ConfigError, CsrfError, ForbiddenError, UnauthenticatedError } from '../errors.js';
import { CSRF_HEADER, SESSION_COOKIE, cookieValue, csrfMatches, type SessionStore } from './sessions.js';

const RANK: Readonly<Record<Role, number>> = { viewer: 1, operator: 2, superuser: 3 };

export interface Principal {
  readonly name: string;
  readonly role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** What a guard made by TokenAuth.require needs, for route listings (the gateway's routes()). */
export interface GuardNeeds {
  readonly role: Role;
  readonly hostFacing: boolean;
}

const GUARDS = new WeakMap<object, GuardNeeds>();

/** The role a hook made by TokenAuth.require needs; undefined for any other hook. */
export function guardNeeds(hook: unknown): GuardNeeds | undefined {
  return typeof hook === 'function' ? GUARDS.get(hook) : undefined;
}

interface TokenEntry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/** Methods that change nothing: a cookie request of these needs no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export class TokenAuth {
  #entries: readonly TokenEntry[];
  #protectHost: boolean;
  #sessions: SessionStore | undefined;

  constructor(config: HookworkConfig['auth'], env: NodeJS.ProcessEnv = process.env) {
    const problems: { key: string; message: string }[] = [];
    const entries: TokenEntry[] = [];
    config.tokens.forEach((t, i) => {
      const value = t.token ?? (t.token_env === undefined ? undefined : env[t.token_env]);
      if (value === undefined || value.length < 16) {
        problems.push({
          key: `auth.tokens.${i}.token_env`,
          message: `environment variable ${t.token_env ?? '?'} is unset or shorter than 16 characters`,
        });
        return;
      }
      entries.push({ digest: digest(value), principal: Object.freeze({ name: t.name, role: t.role }) });
    });
    if (problems.length > 0) throw new ConfigError(problems);
    this.#entries = entries;
    this.#protectHost = config.protect_host_endpoints;
  }

  /** Takes the tokens of another TokenAuth (built from a reloaded config, so already checked). */
  adopt(other: TokenAuth): void {
    this.#entries = other.#entries;
    this.#protectHost = other.#protectHost;
    // A session lives only as long as the token it was made from.
    this.#sessions?.retain(this.#entries.map((e) => e.digest));
  }

  /** The console's sessions: guards accept their cookie from now on. */
  useSessions(sessions: SessionStore): void {
    this.#sessions = sessions;
  }

  /** True once at least one token is configured. */
  get enabled(): boolean {
    return this.#entries.length > 0;
  }

  /** Finds the principal for a bearer token; checks every entry so timing says nothing. */
  identify(token: string): Principal | undefined {
    return this.entryOf(token)?.principal;
  }

  /** The principal and the token's digest (what a session keeps), checking every entry. */
  entryOf(token: string): { readonly principal: Principal; readonly digest: Buffer } | undefined {
    const wanted = digest(token);
    let found: TokenEntry | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, wanted)) found ??= entry;
    }
    return found;
  }

  /**
   * A preHandler that needs at least `role`. Admin endpoints always need a
   * token (401 when none is configured or sent); host-facing endpoints
   * (`hostFacing`) are open until tokens exist, then need an operator.
   */
  require(role: Role, options: { hostFacing?: boolean } = {}): preHandlerAsyncHookHandler {
    const guard = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      if (options.hostFacing === true && (!this.enabled || !this.#protectHost)) return;
      const header = request.headers.authorization;
      // A bearer token wins; the session cookie counts only without one.
      const sessionId = header === undefined && this.#sessions !== undefined ? cookieValue(request.headers.cookie, SESSION_COOKIE) : undefined;
      let principal: Principal | undefined;
      if (sessionId !== undefined) {
        const session = (this.#sessions as SessionStore).get(sessionId);
        if (session === undefined) {
          const error = new UnauthenticatedError('session');
          await reply.code(error.statusCode).send(error.toJSON());
          return reply;
        }
        if (!SAFE_METHODS.has(request.method) && !csrfMatches(session, request.headers[CSRF_HEADER])) {
          const error = new CsrfError(request.method, request.url);
          await reply.code(error.statusCode).send(error.toJSON());
          return reply;
        }
        principal = session.principal;
      } else {
        const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (match === null) {
          const error = new UnauthenticatedError('missing');
          await reply.code(error.statusCode).header('www-authenticate', 'Bearer').send(error.toJSON());
          return reply;
        }
        principal = this.identify(match[1] as string);
        if (principal === undefined) {
          const error = new UnauthenticatedError('unknown');
          await reply.code(error.statusCode).header('www-authenticate', 'Bearer error="invalid_token"').send(error.toJSON());
          return reply;
        }
      }
      if (RANK[principal.role] < RANK[role]) {
        const error = new ForbiddenError(principal.name, principal.role, role);
        await reply.code(error.statusCode).send(error.toJSON());
        return reply;
      }
      request.principal = principal;
      return undefined;
    };
    GUARDS.set(guard, { role, hostFacing: options.hostFacing === true });
    return guard;
  }
}
