// The fields every handler of the config has, whatever its type (its name,
// its filters, the secrets it is granted), and those command and webhook
// handlers share (how they follow actions and gates, sync or queued).

import { z } from 'zod';
import { targetDeliveryShape } from '../delivery/config-schema.js';
import { filtersShape } from '../events/filters.js';

/** Fields every handler has, whatever its type (the filters included). */
export const handlerBaseShape = {
  uuid: z.string().min(1).optional(),
  name: z.string().min(1),
  enabled: z.boolean().default(true),
  description: z.string().optional(),
  ...filtersShape,
};

/** Filters: rules are ANDed, values inside one rule ORed. */
export const filtersSchema = z.strictObject(filtersShape);

/** Secrets a handler may be given (stored non-enumerable on the event otherwise). */
export const HANDLER_GRANTS = ['account.token'] as const;

/** What a handler does as a gate (`pre-*` actions): SFTPGo's rules by default. */
export const gateBehaviourSchema = z.strictObject({
  /** Success (exit 0, accepted status) allows the action, or marks it handled (SFTPGo's pre-delete). */
  on_success: z.enum(['allow', 'handled']).default('allow'),
  /** Failure denies the action, or lets it go on (pre-delete). */
  on_failure: z.enum(['deny', 'allow']).default('deny'),
});

/**
 * One delivery for many events: sent when `max_events` are collected or the
 * oldest has waited `within` seconds, whichever comes first.
 */
export const digestSchema = z
  .strictObject({
    max_events: z.number().int().min(1).optional(),
    /** Seconds. */
    within: z.number().positive().optional(),
  })
  .refine((d) => d.max_events !== undefined || d.within !== undefined, {
    message: 'a digest needs a bound: give "max_events", "within" (seconds) or both',
  });

/** Fields command and webhook handlers share. */
export const outboundShape = {
  ...handlerBaseShape,
  /**
   * Actions and events this handler follows, by name or id: `pre-upload` makes
   * it a gate of that action; `upload` a post hook (an event like any other).
   */
  actions: z.array(z.string().min(1)).optional(),
  /** Run inline (in emit, or in the action's call) instead of through the delivery queue. */
  sync: z.boolean().default(false),
  /** Seconds per run. */
  timeout: z.number().positive().default(30),
  gate: gateBehaviourSchema.optional(),
  /** Secret context paths the templates may read. */
  grants: z.array(z.enum(HANDLER_GRANTS)).default([]),
  /**
   * Handlers to run after this one succeeds, in order, each after the one
   * before it succeeded (SFTPGo's ordered actions with "stop on failure");
   * each sees the previous one's parsed output as `output`.
   */
  then: z.array(z.string().min(1)).default([]),
  /** Handlers to run when this one fails for good (dead-lettered, or a failed sync run), with the failure as the event. */
  on_failure: z.array(z.string().min(1)).default([]),
  /** Collect events and send them as one delivery (queued handlers only). */
  digest: digestSchema.optional(),
  /** Its own rate limit, retry schedule, breaker and failing time (queued handlers; see docs/delivery.md). */
  ...targetDeliveryShape,
  /**
   * Back-pressure for this target: while it has this many unfinished
   * deliveries, events it follows are refused (503, HKW_ERR_BACKPRESSURE)
   * before anything is accepted. Default: only delivery.max_pending applies.
   */
  max_pending: z.number().int().positive().optional(),
};
