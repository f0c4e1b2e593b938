// POST /v1/callbacks/:token: a webhook receiver reports, later, that it
// failed to process what it got (Magpie's callback_url). The token is the
// credential: single-use, expiring, stored only as a hash. Optional JSON
// body {error, details}. Unknown token: 404; used or expired: 410.

import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { HookworkError } from '../../errors.js';
import type { RouteModule } from '../gateway.js';
import { requireJson } from '../json-only.js';
import { zodValidatorCompiler } from '../zod-validation.js';

const paramsSchema = z.strictObject({ token: z.string().min(16).max(200).regex(/^[A-Za-z0-9_-]+$/, 'is not a callback token') });
const bodySchema = z
  .object({
    error: z.string().max(10_000).optional(),
    details: z.unknown().optional(),
  })
  .nullish();

class CallbacksUnavailableError extends HookworkError {
  constructor() {
    super('HKW_ERR_NOT_FOUND', 'Callbacks are not installed on this gateway.', 404);
  }
}

export const callbackRoutes: RouteModule = (app, { runtime }) => {
  const callbacks = runtime.services.callbacks;
  if (callbacks !== undefined && callbacks.publicUrl === undefined) {
    // Without server.public_url, callback URLs use the address the gateway listens on.
    app.addHook('onListen', async () => {
      const address = app.server.address() as AddressInfo | null;
      if (address === null || typeof address !== 'object') return;
      const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
      callbacks.setPublicUrl(`http://${host}:${address.port}`);
    });
  }

  app.post<{ Params: z.output<typeof paramsSchema>; Body: z.output<typeof bodySchema> }>(
    '/v1/callbacks/:token',
    { schema: { params: paramsSchema, body: bodySchema }, validatorCompiler: zodValidatorCompiler, onRequest: [requireJson] },
    async (request) => {
      if (callbacks === undefined) throw new CallbacksUnavailableError();
      const report = await callbacks.report(request.params.token, request.body ?? {});
      return { ok: true, target: report.record.target, error: report.error };
    },
  );
};
