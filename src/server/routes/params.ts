// Path parameters several routes share.

import { z } from 'zod';

/** `:name` of a gate point or change point. */
export const pointParamsSchema = z.strictObject({ name: z.string().min(1).max(200) });
