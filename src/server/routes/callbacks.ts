// POST /v1/callbacks/:token: a webhook receiver reports, later, that it
// failed to process what it got (Magpie's callback_url). The token is the
// credential: single-use, expiring, stored only as a hash. Optional JSON
// body {error, details}. Unknown token: 404; used or expired: 410. Accepted:
// 200, or 202 when a failure listener threw (logged; the token stays used).

import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { CallbacksUnavailableError } from '../../errors.js';
import type { RouteModule } from '../route-module.js';
import { requireJson } from '../json-only.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { callbackReply } from './reply-schemas.js';

const paramsSchema = z.strictObject({ token: z.string().min(16).max(200).regex(/^[A-Za-z0-9_-]+$/, 'is not a callback token') });
const bodySchema = z
  .object({
    error: z.string().max(10_000).optional(),
    details: z.unknown().optional(),
  })
  .nullish();

/** Wildcard listen addresses no client can connect to, and the loopback address used instead. */
const WILDCARD_HOSTS: Readonly<Record<string, string>> = {
  '0.0.0.0': '127.0.0.1',
  '::': '[::1]',
};

/** The base URL callback URLs get from the address the gateway listens on; `wildcard` when it listens on all interfaces. */
export function listenBaseUrl(address: Pick<AddressInfo, 'address' | 'family' | 'port'>): { url: string; wildcard: boolean } {
  const loopback = WILDCARD_HOSTS[address.address];
  const host = loopback ?? (address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address);
  return { url: `http://${host}:${address.port}`, wildcard: loopback !== undefined };
}

export const callbackRoutes: RouteModule = (app, { runtime }) => {
  const callbacks = runtime.services.callbacks;
  if (callbacks !== undefined && callbacks.publicUrl === undefined) {
    // Without server.public_url, callback URLs use the address the gateway
    // listens on; on all interfaces (0.0.0.0, ::) that is the loopback
    // address, which only receivers on this machine can reach.
    let warned = false;
    app.addHook('onListen', async () => {
      const address = app.server.address() as AddressInfo | null;
      if (address === null || typeof address !== 'object') return;
      const { url, wildcard } = listenBaseUrl(address);
      callbacks.setPublicUrl(url);
      if (wildcard && !warned) {
        warned = true;
        runtime.logger.warn(
          { listen: address.address, callback_base: url },
          `The gateway listens on ${address.address}, so callback URLs ({{callback_url}}) start with ${url}, which only this machine can reach; set server.public_url to the address receivers use.`,
        );
      }
    });
  }

  app.post<{ Params: z.output<typeof paramsSchema>; Body: z.output<typeof bodySchema> }>(
    '/v1/callbacks/:token',
    {
      schema: {
        summary: 'A webhook receiver reports that it failed to process what it got (the token in the path is the credential)',
        tags: ['callbacks'],
        params: paramsSchema,
        body: bodySchema,
        response: { 200: callbackReply, 202: callbackReply },
      },
      validatorCompiler: zodValidatorCompiler,
      // The token is the credential: checked (not used) before the body is read, as bearer tokens are elsewhere.
      onRequest: [
        async (request) => {
          if (callbacks === undefined) throw new CallbacksUnavailableError();
          callbacks.check((request.params as { token?: string }).token ?? '');
        },
        requireJson,
      ],
    },
    async (request, reply) => {
      if (callbacks === undefined) throw new CallbacksUnavailableError();
      const receipt = await callbacks.report(request.params.token, request.body ?? {});
      if (receipt.listenerErrors.length > 0) {
        // The report was accepted (the token is used); what followed it failed on our side.
        for (const err of receipt.listenerErrors) {
          runtime.logger.error({ err, target: receipt.record.target, webhook_id: receipt.record.webhookId }, 'A callback failure listener failed; the report was accepted');
        }
        void reply.code(202);
      }
      return { ok: true, target: receipt.record.target, error: receipt.error };
    },
  );
};
