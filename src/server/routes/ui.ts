// The console's built files (Vite's output in dist/ui/) at /ui/. Nothing is
// built or fetched at run time: the files ship in the npm package. Every
// reply carries a strict Content-Security-Policy (no inline script or style,
// no framing) and the usual hardening headers. A path under /ui/ that is no
// file is a client-side route: index.html answers it. Without a build,
// /ui/ answers 503 saying how to make one. Only when `ui.enabled`.

import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import { UiNotBuiltError } from '../../errors.js';
import type { RouteModule } from '../route-module.js';

/** dist/ui of the installed package (from src/server/routes in development, dist/server/routes once built). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Vite names built assets `name-<hash>.ext` under assets/: their content never changes under that name.
const IMMUTABLE = 'public, max-age=31536000, immutable';

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export const uiRoutes: RouteModule = (app, { sessions, console: settings }) => {
  if (sessions === undefined) return; // ui.enabled is false
  const root = resolve(settings.uiDir);

  const secure = (reply: FastifyReply): FastifyReply => reply.headers(SECURITY_HEADERS);

  const sendFile = async (reply: FastifyReply, path: string, cache: string): Promise<FastifyReply> => {
    const body = await readFile(path);
    return secure(reply)
      .header('content-type', TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream')
      .header('cache-control', cache)
      .send(body);
  };

  const sendIndex = async (reply: FastifyReply): Promise<FastifyReply> => {
    const index = join(root, 'index.html');
    if (!(await isFile(index))) {
      const error = new UiNotBuiltError(index);
      return secure(reply).code(error.statusCode).header('cache-control', 'no-store').send(error.toJSON());
    }
    return sendFile(reply, index, 'no-cache');
  };

  const schema = { summary: 'The web console (its built files; unknown paths get index.html)', tags: ['console'] };

  app.get('/ui', { schema }, async (_request, reply) =>
    secure(reply).code(301).header('location', '/ui/').header('content-type', 'text/plain; charset=utf-8').send('Moved to /ui/'),
  );
  app.get('/ui/', { schema }, async (_request, reply) => sendIndex(reply));
  app.get<{ Params: { '*': string } }>('/ui/*', { schema }, async (request, reply) => {
    const wanted = resolve(root, `.${sep}${request.params['*']}`);
    // Never outside the build folder (`..`, encoded slashes): such a path is a client-side route at most.
    if (wanted.startsWith(root + sep) && (await isFile(wanted))) {
      const relative = wanted.slice(root.length + 1);
      const cache = relative.startsWith(`assets${sep}`) ? IMMUTABLE : 'no-cache';
      return sendFile(reply, wanted, relative === 'index.html' ? 'no-cache' : cache);
    }
    return sendIndex(reply);
  });
};
