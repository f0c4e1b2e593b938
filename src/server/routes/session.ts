// The console's sign-in: POST /v1/session exchanges a gateway token for a
// session (an HttpOnly, SameSite=Strict cookie and a CSRF token the page keeps
// in memory), GET /v1/session tells a reloaded page who it is (and its CSRF
// token again), DELETE /v1/session signs out. Only when `ui.enabled`.
// Sign-in is the one public route that reads a body: a JSON object with the
// token, capped at 4 KiB.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CsrfError, UnauthenticatedError } from '../../errors.js';
import { requireJson } from '../json-only.js';
import type { RouteModule } from '../route-module.js';
import { CSRF_HEADER, SESSION_COOKIE, cookieValue, csrfMatches, type Session } from '../sessions.js';
import { zodValidatorCompiler } from '../zod-validation.js';

const SIGN_IN_BODY_LIMIT = 4096;

const signInBody = z.strictObject({ token: z.string().min(1).max(1024) });

export const sessionReply = z.looseObject({
  principal: z.looseObject({ name: z.string(), role: z.enum(['viewer', 'operator', 'superuser']) }),
  csrf_token: z.string(),
  expires_at: z.string().describe('ISO 8601 UTC'),
});

function describe(session: Session): z.output<typeof sessionReply> {
  return {
    principal: { name: session.principal.name, role: session.principal.role },
    csrf_token: session.csrfToken,
    expires_at: new Date(session.expiresAt).toISOString(),
  };
}

/** The cookie's attributes; Secure when the gateway serves TLS (a plain-HTTP browser would drop a Secure cookie). */
function cookie(request: FastifyRequest, value: string, maxAge: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure}`;
}

export const sessionRoutes: RouteModule = (app, { auth, sessions }) => {
  if (sessions === undefined) return;
  const tags = ['console'];

  app.post<{ Body: z.output<typeof signInBody> }>(
    '/v1/session',
    {
      bodyLimit: SIGN_IN_BODY_LIMIT,
      schema: { summary: 'Sign in to the console: exchange a gateway token for a session cookie', tags, body: signInBody, response: { 200: sessionReply } },
      validatorCompiler: zodValidatorCompiler,
      onRequest: requireJson,
    },
    async (request, reply) => {
      const entry = auth.entryOf(request.body.token);
      if (entry === undefined) throw new UnauthenticatedError('unknown');
      const session = sessions.create(entry.principal, entry.digest);
      return reply
        .header('set-cookie', cookie(request, session.id, Math.max(1, Math.ceil(sessions.ttlSeconds))))
        .header('cache-control', 'no-store')
        .send(describe(session));
    },
  );

  const current = (request: FastifyRequest): Session | undefined => {
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    return id === undefined ? undefined : sessions.get(id);
  };

  app.get(
    '/v1/session',
    { schema: { summary: "The console session's principal and CSRF token (after a page reload)", tags, response: { 200: sessionReply } } },
    async (request, reply) => {
      const session = current(request);
      if (session === undefined) throw new UnauthenticatedError('session');
      return reply.header('cache-control', 'no-store').send(describe(session));
    },
  );

  app.delete(
    '/v1/session',
    { schema: { summary: 'Sign out: end the console session (needs X-CSRF-Token)', tags, response: { 204: z.null().describe('Signed out') } } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const session = current(request);
      if (session !== undefined) {
        // Else another site could sign the operator out.
        if (!csrfMatches(session, request.headers[CSRF_HEADER])) throw new CsrfError(request.method, request.url);
        sessions.delete(session.id);
      }
      // Already ended (expired, rotated): still clear the cookie.
      return reply.code(204).header('set-cookie', cookie(request, '', 0)).send();
    },
  );
};
