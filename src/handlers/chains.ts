// Chains (`then`) through the queue, in order: a target in a chain is
// registered wrapped, so its success enqueues the next step alone (with its
// `output`), carrying the steps after it in the event (THEN_PENDING, removed
// before the target sees the event). The first step that fails for good stops
// the chain, as SFTPGo's "stop on failure" does.

import type { AttemptContext, DeliveryQueue, DeliveryRecord, DeliveryTarget } from '../delivery/types.js';
import { digestRecord } from './digest.js';
import { THEN_PENDING } from './router.js';
import type { OutboundTarget } from './target.js';

type Digest = NonNullable<DeliveryTarget['digest']>;

/**
 * What the queue registers for `targets`: each as it is, or wrapped when it
 * is in a chain or collects a digest. A digest delivery's event is the JSON
 * array of its events: a webhook sends it as its body; commands and e-mail
 * render their templates over it (`events`, `count`, `events_list`).
 */
export function chainedDeliverables(
  targets: Iterable<OutboundTarget>,
  chains: ReadonlyMap<string, readonly string[]>,
  queue: DeliveryQueue,
  digests: ReadonlyMap<string, Digest> = new Map(),
): DeliveryTarget[] {
  const chained = new Set<string>([...chains.keys(), ...[...chains.values()].flat()]);
  return [...targets].map((target) => {
    const digest = digests.get(target.name);
    if (digest === undefined) return chained.has(target.name) ? chainStep(target, chains, queue) : target;
    const base: OutboundTarget =
      target.kind === 'webhook'
        ? target
        : {
            name: target.name,
            kind: target.kind,
            grants: target.grants,
            ...(target.concurrency === undefined ? {} : { concurrency: target.concurrency }),
            run: (record, context) => target.run(record, context),
            attempt: (delivery, context) => target.run(digestRecord(delivery.event as unknown as unknown[]), context),
          };
    const step: DeliveryTarget = chained.has(target.name) ? chainStep(base, chains, queue) : base;
    return {
      name: step.name,
      kind: step.kind,
      ...(step.concurrency === undefined ? {} : { concurrency: step.concurrency }),
      digest,
      attempt: (delivery: DeliveryRecord, context: AttemptContext) => step.attempt(delivery, context),
    };
  });
}

function chainStep(target: OutboundTarget, chains: ReadonlyMap<string, readonly string[]>, queue: DeliveryQueue): DeliveryTarget {
  return {
    name: target.name,
    kind: target.kind,
    concurrency: target.concurrency,
    async attempt(delivery, context) {
      const carried = delivery.event[THEN_PENDING];
      let own = delivery;
      if (carried !== undefined) {
        // The stored JSON has the member too: the target gets the event without it, and no JSON to send as is.
        const { [THEN_PENDING]: _pending, ...event } = delivery.event;
        const { eventJson: _json, eventBytes: _bytes, ...rest } = delivery;
        own = { ...rest, event };
      }
      const result = await target.attempt(own, context);
      if (!result.ok) return result;
      const pending = [...(chains.get(target.name) ?? []), ...(Array.isArray(carried) ? carried.filter((n): n is string => typeof n === 'string') : [])];
      const [next, ...after] = pending;
      if (next !== undefined) {
        const event = { ...own.event, output: result.output ?? null, ...(after.length > 0 ? { [THEN_PENDING]: after } : {}) };
        await queue.enqueue([{ target: next, event }]);
      }
      return result;
    },
  };
}
