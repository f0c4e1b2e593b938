// The `metrics:` section: Prometheus metrics on GET /metrics.

import { z } from 'zod';

export const metricsConfigSchema = z.strictObject({
  /** Record and serve metrics (default true). Off, every hot path records nothing. */
  enabled: z.boolean().default(true),
  /** Serve /metrics without a token (default false: a viewer token, once tokens are configured). */
  public: z.boolean().default(false),
  /** `host:port` of a listener of its own for /metrics (open, no token): keep it on a private interface. */
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'give "host:port", e.g. "127.0.0.1:9464"')
    .optional(),
});

