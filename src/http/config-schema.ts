// The `ssrf:` section: the address ranges outbound requests may reach
// although the SSRF guard refuses them by default.

import ipaddr from 'ipaddr.js';
import { z } from 'zod';

export const ssrfConfigSchema = z.strictObject({
  /** CIDRs webhooks may reach although they are loopback/private/metadata (e.g. 127.0.0.1/32). */
  allow: z
    .array(
      z.string().superRefine((value, ctx) => {
        if (!ipaddr.isValidCIDR(value) && !ipaddr.isValid(value)) {
          ctx.addIssue({ code: 'custom', message: `"${value}" is not a CIDR (e.g. 10.0.0.0/8, 127.0.0.1/32, fd00::/8)` });
        }
      }),
    )
    .default([]),
});
