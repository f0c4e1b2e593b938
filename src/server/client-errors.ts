// Errors that happen before fastify has a request: Node's HTTP parser refuses
// the bytes (malformed request line or headers → 400, headers too large →
// 431, too slow → 408). fastify's default answer has its own body shape;
// this one writes the `{code, message}` body every other gateway error has,
// straight to the socket (there is no response object yet), then closes it.

import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { BadHttpRequestError } from '../errors.js';

interface ConnectionError extends Error {
  code?: string;
}

function errorFor(err: ConnectionError): BadHttpRequestError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new BadHttpRequestError('headers-too-large');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new BadHttpRequestError('timeout');
  return new BadHttpRequestError('malformed');
}

/** The raw HTTP/1.1 reply for a request Node could not parse. */
export function clientErrorResponse(err: ConnectionError): string {
  const error = errorFor(err);
  const body = JSON.stringify(error.toJSON());
  return (
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** fastify's `clientErrorHandler`. */
export function onClientError(err: ConnectionError, socket: Socket): void {
  // A reset connection has nobody left to answer (Node's own handler does the same).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.end(clientErrorResponse(err));
  else socket.destroy();
}
