// Host-facing endpoints speak JSON only. fastify would parse text/plain as a
// string and then fail validation (a 400 that hides the real problem), so a
// body of any other media type is refused up front with 415.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnsupportedMediaTypeError } from '../errors.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return request.headers['transfer-encoding'] !== undefined;
}

export async function requireJson(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (!hasBody(request)) return undefined;
  const type = request.headers['content-type'];
  if (type !== undefined && JSON_TYPE.test(type)) return undefined;
  const error = new UnsupportedMediaTypeError(request.method, request.url, type);
  await reply.code(error.statusCode).send(error.toJSON());
  return reply;
}
