// What the handlers of one config wire into the host, whatever their kind:
// target names, the catalogue ids an action name stands for, the router (and
// its report of a failed sync target), and each handler's gates and routes.

import { ENGINE_EVENTS } from '../events/engine-events.js';
import type { FiltersConfig } from '../events/filters.js';
import { compileFilters } from '../events/filters.js';
import type { DeliveryQueue } from '../delivery/types.js';
import { emitEngineEvent, type Host } from '../host.js';
import type { Logger } from '../logger.js';
import { targetGate, type GateBehaviour } from './gate-adapter.js';
import { failedEventRecord, TargetRouter } from './router.js';
import type { OutboundTarget } from './target.js';

export const handlerTargetName = (name: string): string => `handler:${name}`;
export const webhookTargetName = (name: string): string => `webhook:${name}`;

/** Ids of the catalogue events an action (or event) name or id stands for; declares declared actions that are missing. */
export function resolveEventIds(host: Host, nameOrId: string, declareIfMissing: boolean): string[] {
  if (host.catalogue.has(nameOrId)) return [nameOrId];
  const ids = host.catalogue
    .list()
    .filter((entry) => entry.name === nameOrId)
    .map((entry) => entry.id);
  if (ids.length > 0 || !declareIfMissing) return ids;
  host.catalogue.declare({ id: nameOrId, name: nameOrId, groups: ['action'], message: `Action ${nameOrId}: {{data.status_text}}` });
  return [nameOrId];
}

export interface RouterWiring {
  readonly host: Host;
  readonly logger: Logger;
  readonly queue: DeliveryQueue | undefined;
  readonly targets: ReadonlyMap<string, OutboundTarget>;
  readonly chains: ReadonlyMap<string, readonly string[]>;
  readonly syncEventNames: ReadonlySet<string>;
}

/** The router of one generation; a sync target's failure is logged and reported as handler-failed. */
export function createRouter(wiring: RouterWiring): TargetRouter {
  const { host, logger: log } = wiring;
  return new TargetRouter({
    queue: wiring.queue ?? { registerTarget: () => () => undefined, enqueue: async () => [] },
    logger: log,
    targets: wiring.targets,
    chains: wiring.chains,
    syncEventNames: wiring.syncEventNames,
    onSyncFailure(target, event, error, record) {
      log.warn({ target: target.name, event: event.id }, `Sync target "${target.name}" failed on event ${event.id}`);
      if (event.id === ENGINE_EVENTS.handlerFailed) return;
      // The failed event itself (without a granted secret) and one attempt, for on_failure handlers.
      const data = { handler: target.name, kind: target.kind, event_id: event.id, event_uuid: event.uuid, error, stack: '', attempts: 1, event: failedEventRecord(record) };
      emitEngineEvent(host, ENGINE_EVENTS.handlerFailed, { data }, log);
    },
  });
}

/** What on_failure needs of a handler: its name, its `sync`, the handlers it lists. */
export interface FailureFollowing {
  readonly name: string;
  readonly sync: boolean;
  readonly on_failure: readonly string[];
}

/**
 * on_failure: a handler runs on the failure events (20520 dead-lettered,
 * 20174 a failed sync run) of the handlers that list it, through the same
 * router, so its own `sync` and the queue apply as to any event.
 */
export function wireFailureActions(router: TargetRouter, handlers: readonly FailureFollowing[], targets: ReadonlyMap<string, OutboundTarget>): void {
  const failedBy = new Map<string, Set<string>>();
  for (const handler of handlers) {
    for (const name of handler.on_failure) {
      const follower = handlerTargetName(name);
      if (!targets.has(follower)) continue;
      let set = failedBy.get(follower);
      if (set === undefined) failedBy.set(follower, (set = new Set()));
      set.add(handlerTargetName(handler.name));
    }
  }
  for (const [follower, failing] of failedBy) {
    const target = targets.get(follower) as OutboundTarget;
    const sync = handlers.find((h) => handlerTargetName(h.name) === follower)?.sync ?? false;
    router.add([ENGINE_EVENTS.deliveryFailed, ENGINE_EVENTS.handlerFailed], {
      target,
      sync,
      matches: (event) => {
        const failed = event.id === ENGINE_EVENTS.deliveryFailed ? event.data['target'] : event.data['handler'];
        return typeof failed === 'string' && failing.has(failed);
      },
    });
  }
}

/** The fields of a command or webhook handler that say what it follows and gates. */
export interface RoutedHandler extends FiltersConfig {
  readonly target_events?: ReadonlyArray<string | number> | undefined;
  readonly actions?: readonly string[] | undefined;
  readonly sync: boolean;
  /** Seconds per run. */
  readonly timeout: number;
  readonly gate?: GateBehaviour | undefined;
}

/** A `pre-*` gate a handler registers when its generation is activated. */
export interface GateWiring {
  readonly name: string;
  readonly fn: ReturnType<typeof targetGate>;
  readonly timeoutMs: number;
  readonly target: string;
}

export interface HandlerWiring {
  readonly target: OutboundTarget;
  readonly handler: RoutedHandler;
  /** Where the handler is in the config (`handlers.2`), for problem keys. */
  readonly where: string;
  /** Its gate behaviour for `gate` when the config names none. */
  readonly defaultGate: (gate: string) => GateBehaviour;
  /** Added to the timeout of its gates (a command's kill grace). */
  readonly graceMs: number;
}

/**
 * A handler's `pre-*` actions (that are no catalogue event) become gates,
 * appended to `gates`; the rest of its actions and its filters become a route.
 */
export function wireHandler(host: Host, router: TargetRouter, declared: ReadonlySet<string>, wiring: HandlerWiring, gates: GateWiring[]): void {
  const { handler, target } = wiring;
  const gateNames = (handler.actions ?? []).filter((a) => a.startsWith('pre-') && !host.catalogue.has(a));
  const followed = (handler.actions ?? []).filter((a) => !gateNames.includes(a));
  for (const gate of gateNames) {
    const behaviour = handler.gate ?? wiring.defaultGate(gate);
    gates.push({ name: gate, fn: targetGate(gate, target, behaviour, host.server, host.logger), timeoutMs: handler.timeout * 1000 + wiring.graceMs + 1000, target: target.name });
  }
  const actionIds = followed.flatMap((a) => resolveEventIds(host, a, declared.has(a)));
  const hasFilters = handler.target_events !== undefined;
  if (!hasFilters && handler.actions !== undefined && followed.length === 0) return; // a gate only
  const filter = compileFilters({ ...handler, target_events: [...(handler.target_events ?? []), ...actionIds] }, { where: wiring.where });
  router.add(filter.eventIds, { target, matches: (event) => filter.matches(event), sync: handler.sync });
}
