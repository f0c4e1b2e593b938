// Config schemas owned by the targets layer: command and webhook handlers,
// Magpie-style webhooks, actions, SSRF and callbacks. Issue #5 fills these in.

import { z } from 'zod';
import { handlerBaseShape } from '../handlers/config-schema.js';

export const commandHandlerSchema = z.strictObject({
  type: z.literal('command'),
  ...handlerBaseShape,
  command: z.string().min(1),
});

export const webhookHandlerSchema = z.strictObject({
  type: z.literal('webhook'),
  ...handlerBaseShape,
  url: z.string().min(1),
});

export const magpieWebhookSchema = z.strictObject({
  name: z.string().min(1),
  action: z.string().min(1),
  method: z.string().min(1),
  url: z.string().min(1),
  format: z.string().optional(),
  payload: z.unknown().optional(),
});

export const actionsConfigSchema = z.strictObject({
  execute_sync: z.array(z.string().min(1)).default([]),
});

export const ssrfConfigSchema = z.strictObject({
  allow: z.array(z.string().min(1)).default([]),
});

export const callbacksConfigSchema = z.strictObject({
  ttl: z.number().positive().default(86_400),
});
