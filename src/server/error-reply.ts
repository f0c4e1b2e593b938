// What the gateway answers for an error: every reply carries a code from the
// catalogue (src/errors.ts). Hookwork's errors (and plugins' HookworkErrors)
// answer as they are; fastify's refusals keep their catalogued FST_ERR_*
// code; any other 4xx keeps its status as HKW_ERR_BAD_REQUEST; the rest is an
// unexpected failure, logged by the caller and answered with a generic 500.

import { BadRequestError, HookworkError, InternalError, isFrameworkErrorCode, RequestRefusedError } from '../errors.js';

interface RawError extends Error {
  statusCode?: number;
  code?: string;
}

/** The error to send for `raw`; `unexpected` when the real error must be logged (its details never reach the caller). */
export function errorReply(raw: unknown): { error: HookworkError; unexpected: boolean } {
  if (raw instanceof HookworkError) return { error: raw, unexpected: false };
  const error = raw as RawError;
  if (isFrameworkErrorCode(error.code)) return { error: new RequestRefusedError(error.code, error.message), unexpected: false };
  const status = error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { error: new BadRequestError(error.message, status), unexpected: false };
  return { error: new InternalError(), unexpected: true };
}
