// Config schemas owned by the handlers layer: filters (shared by every
// handler type) and extension handlers. Issue #4 fills these in.

import { z } from 'zod';

/** Fields every handler has, whatever its type. */
export const handlerBaseShape = {
  uuid: z.string().min(1).optional(),
  name: z.string().min(1),
  enabled: z.boolean().default(true),
  description: z.string().optional(),
};

/** Filters: rules are ANDed, values inside one rule ORed. */
export const filtersSchema = z.strictObject({
  target_events: z.array(z.union([z.string().min(1), z.number().int().transform(String)])).optional(),
});

export const extensionHandlerSchema = z.strictObject({
  type: z.literal('extension'),
  ...handlerBaseShape,
  entry_point: z.string().min(1),
  configuration: z.string().default(''),
});

export const extensionsConfigSchema = z.strictObject({
  folder: z.string().min(1).default('extensions'),
});
