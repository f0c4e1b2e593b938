// What an operator sees of each gateway request: its id (the caller's
// `X-Request-Id` when sane, else a fresh one), returned on every response and
// carried by every log line logged while it is served; one access log line;
// and, with a tracer provider registered, a server span that continues the
// caller's W3C `traceparent`.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { withRequestId, type Logger } from '../logger.js';
import { context, contextFromHeaders, endSpan, SpanKind, startSpan, trace, tracingOn, type Span } from '../tracing.js';

/** Printable ASCII without spaces, at most 128 characters: anything else is replaced, never echoed. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** fastify's genReqId: the caller's X-Request-Id when valid, else a new uuid. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Probes are polled every few seconds: their lines are debug, not info. */
const PROBES: ReadonlySet<string> = new Set(['/v1/health', '/v1/ready']);

interface Observed {
  span?: Span;
}

const spans = new WeakMap<FastifyRequest, Observed>();

export function observeRequests(app: FastifyInstance, logger: Logger): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (!tracingOn()) {
      withRequestId(request.id, done);
      return;
    }
    const route = request.routeOptions.url ?? 'unknown';
    const parent = contextFromHeaders(request.headers['traceparent'], request.headers['tracestate']);
    const span = startSpan(
      `${request.method} ${route}`,
      {
        'http.request.method': request.method,
        'http.route': route,
        'url.path': pathOf(request.url),
        'url.scheme': request.protocol,
        'hookwork.request_id': request.id,
      },
      SpanKind.SERVER,
      parent,
    );
    spans.set(request, { span });
    // The rest of the request (hooks, handler) runs with its span active and its id known to the logger.
    context.with(trace.setSpan(parent, span), () => withRequestId(request.id, done));
  });

  app.addHook('onResponse', (request, reply, done) => {
    accessLog(logger, request, reply);
    const span = spans.get(request)?.span;
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      endSpan(span, reply.statusCode >= 500 ? `HTTP ${reply.statusCode}` : undefined);
    }
    done();
  });
}

/** One line per request: id, method, route pattern, path, status, duration. Never a header, a query or a body. */
function accessLog(logger: Logger, request: FastifyRequest, reply: FastifyReply): void {
  const route = request.routeOptions.url;
  const fields = {
    method: request.method,
    route: route ?? null,
    path: pathOf(request.url),
    status: reply.statusCode,
    durationMs: Math.round(reply.elapsedTime * 100) / 100,
  };
  const line = `${request.method} ${route ?? pathOf(request.url)} ${reply.statusCode}`;
  // Inside the request's id (the logger adds `reqId`), whatever context fastify calls this hook in.
  withRequestId(request.id, () => {
    if (route !== undefined && PROBES.has(route)) logger.debug(fields, line);
    else logger.info(fields, line);
  });
}

/** The path without its query (a query may carry a secret). */
function pathOf(url: string): string {
  const cut = url.indexOf('?');
  return cut === -1 ? url : url.slice(0, cut);
}
