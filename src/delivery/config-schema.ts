// Config schemas owned by the delivery layer. Issues #5/#6 fill them in.

import { z } from 'zod';

export const storeConfigSchema = z.strictObject({
  /** `memory`, `sqlite:<path>` (relative to the data folder) or a `postgres://` URL. */
  url: z.string().min(1).default('memory'),
});

export const deliveryConfigSchema = z.strictObject({
  /** Retry delays in seconds, after the first attempt. */
  retry_schedule: z.array(z.number().nonnegative()).default([0, 5, 300, 1800, 7200, 18000, 36000, 36000]),
});
