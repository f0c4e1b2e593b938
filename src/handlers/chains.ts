// Chains (`then`): the queue runs them too. A target with targets after it is
// registered wrapped, so its success enqueues them, with its `output`.

import type { DeliveryQueue, DeliveryTarget } from '../delivery/types.js';
import type { OutboundTarget } from './target.js';

/** What the queue registers for `targets`: each as it is, or wrapped when it has a chain. */
export function chainedDeliverables(
  targets: Iterable<OutboundTarget>,
  chains: ReadonlyMap<string, readonly string[]>,
  queue: DeliveryQueue,
): DeliveryTarget[] {
  return [...targets].map((target) => {
    const next = chains.get(target.name);
    if (next === undefined) return target;
    return {
      name: target.name,
      kind: target.kind,
      concurrency: target.concurrency,
      async attempt(delivery, context) {
        const result = await target.attempt(delivery, context);
        if (result.ok) {
          await queue.enqueue(next.map((n) => ({ target: n, event: { ...delivery.event, output: result.output ?? null } })));
        }
        return result;
      },
    };
  });
}
