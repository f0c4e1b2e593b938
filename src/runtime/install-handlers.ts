// installTargets(runtime): builds command and webhook targets from the
// config's handlers and Magpie `webhooks`, registers them with the delivery
// queue, routes events to them (an emit stage that enqueues before emit
// returns, or runs them inline when sync), registers `pre-*` handlers as
// gates, and exposes `runtime.services.targets`, `.actions` and `.callbacks`.
// Everything built from the config is one generation; a config reload builds
// the next one and swaps it in synchronously, so no event is routed to both
// or to neither. Callback tokens and the HTTP transport outlive generations.
// Each kind builds its targets (commands/, webhooks/ from-config.ts); the
// chains, the router and the gates are wired by handlers/.

import { isDeepStrictEqual } from 'node:util';
import type { HookworkConfig } from '../config/schema.js';
import { ConfigError, InvalidArgumentError, type ConfigProblem } from '../errors.js';
import { ENGINE_EVENTS } from '../events/engine-events.js';
import type { DeliveryControls, DeliveryQueue, DeliveryTarget } from '../delivery/types.js';
import { deliveryControlsOf, withControls } from '../delivery/controls.js';
import { emitEngineEvent } from '../host.js';
import type { Installer, Runtime } from './types.js';
import { Actions } from '../actions/actions.js';
import { Callbacks } from '../webhooks/callbacks.js';
import { callbackFailureHandler } from '../webhooks/callback-failures.js';
import { callbackExtras, webhookTargetFromHandler, webhookTargetFromMagpie } from '../webhooks/from-config.js';
import { commandTargetFromConfig } from '../commands/from-config.js';
import { targetsConfigProblems } from '../config/handler-checks.js';
import type { CommandHandlerConfig } from '../commands/config-schema.js';
import type { MagpieWebhookConfig, WebhookHandlerConfig } from '../webhooks/config-schema.js';
import { chainedDeliverables } from '../handlers/chains.js';
import { SFTPGO_GATE, SFTPGO_PRE_DELETE } from '../handlers/gate-adapter.js';
import {
  createRouter,
  handlerTargetName,
  resolveEventIds,
  webhookTargetName,
  wireHandler,
  type GateWiring,
  wireFailureActions,
} from '../handlers/generation.js';
import { HttpPools } from '../http/pools.js';
import type { HttpTransport } from '../http/transport.js';
import { SenderThread } from '../http/sender-thread.js';
import { senderMode, type SenderThreadSetting } from '../http/sender-choice.js';
import { AdaptiveTransport } from '../http/adaptive-transport.js';
import { usableCores } from '../http/spare-cores.js';
import type { TargetRouter } from '../handlers/router.js';
import { SsrfGuard } from '../http/ssrf-guard.js';
import type { EventRecord, OutboundTarget } from '../handlers/target.js';
import { loadWebhookFiles, webhookEntries } from '../config/webhook-files.js';
import type { EmailHandlerConfig } from '../email/config-schema.js';
import { emailTargetFromConfig } from '../email/from-config.js';
import type { MailTransport } from '../email/transport.js';
import { SecretRotation } from './secret-rotation.js';

export interface TargetsService {
  /** Targets by name (`handler:<name>`, `webhook:<name>`). */
  readonly targets: ReadonlyMap<string, OutboundTarget>;
  readonly router: TargetRouter;
  readonly ssrf: SsrfGuard;
  /** Where webhook requests go out (a SenderThread, HttpPools or, by default, an AdaptiveTransport choosing per request: see http/sender-choice.ts). */
  readonly http: HttpTransport;
  /** Runs a target now, outside the queue, with the targets chained after it; returns the failures. */
  runNow(name: string, record: EventRecord): Promise<string[]>;
  /** Signing secret rotations (undefined without a delivery store). */
  readonly rotation: SecretRotation | undefined;
}

declare module './types.js' {
  interface RuntimeServices {
    targets: TargetsService;
    actions: Actions;
    callbacks: Callbacks;
  }
}

type OutboundHandler = CommandHandlerConfig | WebhookHandlerConfig | EmailHandlerConfig;
type Digest = NonNullable<DeliveryTarget['digest']>;

function isOutbound(handler: Runtime['config']['handlers'][number]): handler is OutboundHandler {
  return handler.type === 'command' || handler.type === 'webhook' || handler.type === 'email';
}

/** What one config builds: swapped whole on reload. */
interface Generation {
  readonly targets: ReadonlyMap<string, OutboundTarget>;
  readonly router: TargetRouter;
  readonly ssrf: SsrfGuard;
  readonly actions: Actions;
  /** Registers with the queue, the gates and the callbacks; returns the undo. Synchronous, so a swap is atomic. */
  activate(): () => void;
}

/** What outlives generations. */
interface Shared {
  readonly runtime: Runtime;
  readonly log: Runtime['logger'];
  readonly queue: DeliveryQueue | undefined;
  readonly http: HttpTransport;
  readonly callbacks: Callbacks;
}

/** The config's Magpie webhooks with those of `webhooks_path` appended, checked as a whole. */
async function webhooksOf(runtime: Runtime, config: HookworkConfig): Promise<MagpieWebhookConfig[]> {
  const problems: ConfigProblem[] = [];
  const webhooks: MagpieWebhookConfig[] = [...config.webhooks];
  const loaded = config.webhooks_path === undefined ? undefined : await loadWebhookFiles(runtime.resolvePath(config.webhooks_path));
  if (loaded !== undefined) {
    problems.push(...loaded.problems);
    webhooks.push(...loaded.webhooks);
  }
  // Every entry is checked, also those that failed their schema, so one round lists everything.
  problems.push(...targetsConfigProblems(config, { entries: webhookEntries(config, loaded) }));
  if (problems.length > 0) throw new ConfigError(problems);
  return webhooks;
}

/** The parts of a config this installer reads, to tell whether a reload concerns it. */
function targetInputs(config: HookworkConfig): unknown {
  return [config.handlers.filter(isOutbound), config.webhooks, config.webhooks_path, config.actions, config.ssrf, config.callbacks.on_failure];
}

/** Declared actions become catalogue events (and pre-gates with their options); returns their names. */
function declareActions(runtime: Runtime, config: HookworkConfig): Set<string> {
  const { host } = runtime;
  const declared = new Set([...config.actions.execute_sync, ...Object.keys(config.actions.options)]);
  for (const name of declared) {
    resolveEventIds(host, name, true);
    const options = config.actions.options[name];
    host.declareGate(`pre-${name}`, {
      ...(options?.fail_open === undefined ? {} : { failOpen: options.fail_open }),
      ...(options?.gate_timeout === undefined ? {} : { timeoutMs: options.gate_timeout * 1000 }),
    });
  }
  return declared;
}

/** The targets of the config's handlers and webhooks, by name, and the chains (`then`) of its handlers. */
function buildTargets(
  config: HookworkConfig,
  handlers: readonly OutboundHandler[],
  webhookList: readonly MagpieWebhookConfig[],
  shared: Shared,
  ssrf: SsrfGuard,
): {
  targets: Map<string, OutboundTarget>;
  chains: Map<string, readonly string[]>;
  digests: Map<string, Digest>;
  controls: Map<string, DeliveryControls>;
  transports: MailTransport[];
} {
  const { runtime, log, http, callbacks } = shared;
  const targets = new Map<string, OutboundTarget>();
  // Each e-mail handler's SMTP pool: closed when its generation is swapped out.
  const transports: MailTransport[] = [];
  const chains = new Map<string, readonly string[]>();
  const digests = new Map<string, Digest>();
  // Each target's own rate limit, retry schedule, breaker, failing time.
  const controls = new Map<string, DeliveryControls>();
  for (const handler of handlers) {
    const name = handlerTargetName(handler.name);
    const own = deliveryControlsOf(handler);
    if (own !== undefined) controls.set(name, own);
    if (handler.digest !== undefined) {
      digests.set(name, {
        ...(handler.digest.max_events === undefined ? {} : { maxEvents: handler.digest.max_events }),
        ...(handler.digest.within === undefined ? {} : { withinMs: handler.digest.within * 1000 }),
      });
    }
    if (targets.has(name)) throw new ConfigError([{ key: 'handlers', message: `two handlers are named "${handler.name}"; names must be unique` }]);
    if (handler.type === 'command') {
      const handlerField = Object.freeze({ name: handler.name });
      targets.set(
        name,
        commandTargetFromConfig(handler, {
          name,
          resolvePath: (path) => runtime.resolvePath(path),
          extras: () => ({ handler: handlerField }),
          onExecuted: (report) => emitEngineEvent(runtime.host, ENGINE_EVENTS.commandExecuted, { data: { ...report } }, log),
          metrics: runtime.host.metrics,
        }),
      );
    } else if (handler.type === 'email') {
      const handlerField = Object.freeze({ name: handler.name });
      const { target, transport } = emailTargetFromConfig(handler, {
        name,
        where: `handlers.${config.handlers.indexOf(handler)}`,
        resolvePath: (path) => runtime.resolvePath(path),
        extras: () => ({ handler: handlerField }),
        env: process.env,
      });
      transports.push(transport);
      targets.set(name, target);
    } else {
      targets.set(
        name,
        webhookTargetFromHandler(handler, name, callbackExtras(callbacks, name, handler.name), { http, ssrf }, {
          where: `handlers.${config.handlers.indexOf(handler)}`,
          env: process.env,
          resolvePath: (path) => runtime.resolvePath(path),
        }),
      );
    }
    if (handler.then.length > 0) chains.set(name, handler.then.map(handlerTargetName));
  }
  for (const hook of webhookList) {
    const name = webhookTargetName(hook.name);
    const own = deliveryControlsOf(hook);
    if (own !== undefined) controls.set(name, own);
    targets.set(
      name,
      webhookTargetFromMagpie(hook, name, callbackExtras(callbacks, name, hook.name), { http, ssrf }, {
        where: `webhooks.${webhookList.indexOf(hook)}`,
        env: process.env,
        resolvePath: (path) => runtime.resolvePath(path),
      }),
    );
  }
  if (shared.queue === undefined && targets.size > 0) {
    throw new InvalidArgumentError('Command and webhook targets need the delivery queue: installDelivery must run before installTargets (see INSTALLERS in src/runtime/runtime.ts).');
  }
  return { targets, chains, digests, controls, transports };
}

async function buildGeneration(config: HookworkConfig, shared: Shared): Promise<Generation> {
  const { runtime, log, queue, callbacks } = shared;
  const { host } = runtime;
  const webhookList = await webhooksOf(runtime, config);
  const handlers = config.handlers.filter(isOutbound).filter((h) => h.enabled);
  const declared = declareActions(runtime, config);
  const ssrf = new SsrfGuard({ allow: config.ssrf.allow });
  const { targets, chains, digests, controls, transports } = buildTargets(config, handlers, webhookList, shared, ssrf);
  const deliverables = queue === undefined ? [] : chainedDeliverables(targets.values(), chains, queue, digests).map((d) => withControls(d, controls.get(d.name)));
  // Back-pressure per target (max_pending), set on activation like the deliverables.
  const bounds = handlers.flatMap((h) => (h.max_pending === undefined ? [] : [[handlerTargetName(h.name), h.max_pending] as const]));

  const syncEventNames = new Set<string>([
    ...config.actions.execute_sync,
    ...Object.entries(config.actions.options)
      .filter(([, o]) => o.execute_sync === true)
      .map(([n]) => n),
  ]);
  const router = createRouter({ host, logger: log, queue, targets, chains, syncEventNames });

  // Gates are registered on activation; routes live in this generation's router.
  const gates: GateWiring[] = [];
  for (const handler of handlers) {
    wireHandler(
      host,
      router,
      declared,
      {
        target: targets.get(handlerTargetName(handler.name)) as OutboundTarget,
        handler,
        where: `handlers.${config.handlers.indexOf(handler)}`,
        defaultGate: (gate) => (handler.type === 'command' && handler.preset === 'sftpgo' && gate === 'pre-delete' ? SFTPGO_PRE_DELETE : SFTPGO_GATE),
        graceMs: handler.type === 'command' ? handler.kill_grace * 1000 : 0,
      },
      gates,
    );
  }
  for (const hook of webhookList) {
    const target = targets.get(webhookTargetName(hook.name)) as OutboundTarget;
    router.add(resolveEventIds(host, hook.action, declared.has(hook.action)), { target, sync: false });
  }

  // on_failure: each listed handler runs on the failure events of the handlers that list it.
  wireFailureActions(router, handlers, targets);

  const onFailureTargets = config.callbacks.on_failure
    .map((name) => targets.get(handlerTargetName(name)) ?? targets.get(webhookTargetName(name)))
    .filter((t): t is OutboundTarget => t !== undefined);
  const onCallbackFailure = callbackFailureHandler(host, queue, onFailureTargets);

  return {
    targets,
    router,
    ssrf,
    actions: new Actions({ host, router, declared, syncEventNames, options: config.actions.options }),
    activate() {
      const scope = host.scope('targets');
      const removers = [
        ...(queue === undefined ? [] : deliverables.map((d) => queue.registerTarget(d))),
        ...(queue === undefined ? [] : bounds.map(([name, max]) => queue.boundTarget?.(name, max) ?? (() => undefined))),
        ...gates.map((g) => scope.onGate(g.name, g.fn, { name: g.target, timeoutMs: g.timeoutMs })),
        callbacks.onFailure(onCallbackFailure),
      ];
      return () => {
        for (const remove of removers) remove();
        for (const transport of transports) transport.close();
        scope.dispose().catch((err: unknown) => log.warn({ err }, 'Could not dispose the targets scope'));
      };
    },
  };
}

/** Where webhook requests go out, as delivery.sender_thread says (http/sender-choice.ts). */
function senderTransport(setting: SenderThreadSetting, connections: number, log: Runtime['logger']): HttpTransport {
  // Read once (cgroup files): the choice of transport and the adaptive one's line both use it.
  const cores = usableCores();
  const mode = senderMode(setting, cores);
  if (mode === 'thread') return new SenderThread({ connections });
  if (mode === 'main') return new HttpPools({ connections });
  return new AdaptiveTransport({
    connections,
    spare: {
      cores,
      // Debug: near the line a host can change sides every few seconds.
      onChange: (threadHasCore, others) => {
        const side = threadHasCore ? 'sender' : 'main';
        if (Number.isNaN(others)) {
          log.debug(`Webhook requests now go out from the ${side} thread (delivery.sender_thread: auto): other processes' CPU cannot be measured here, so the count of cores decides`);
          return;
        }
        const why = threadHasCore ? 'other processes leave this one a core to spare' : 'other processes use the core the sender thread would need';
        log.debug({ othersCores: Number(others.toFixed(2)) }, `Webhook requests now go out from the ${side} thread (delivery.sender_thread: auto): ${why}`);
      },
    },
  });
}

async function installTargets(runtime: Runtime): Promise<void> {
  const { config, host } = runtime;
  const log = runtime.logger.child({ component: 'targets' });
  // Enough sockets per origin for the busiest webhook's concurrency.
  const busiest = Math.max(16, ...config.handlers.map((h) => (h.type === 'webhook' ? h.concurrency : 0)));
  const shared: Shared = {
    runtime,
    log,
    queue: runtime.services.delivery as DeliveryQueue | undefined,
    http: senderTransport(config.delivery.sender_thread, busiest, log),
    callbacks: new Callbacks({
      ttlSeconds: config.callbacks.ttl,
      ...(config.server.public_url === undefined ? {} : { publicUrl: config.server.public_url }),
    }),
  };
  let current = await buildGeneration(config, shared);
  // With webhooks configured, the sender thread starts with the runtime, not under the first deliveries.
  if ((shared.http instanceof SenderThread || shared.http instanceof AdaptiveTransport) && [...current.targets.values()].some((t) => t.kind === 'webhook')) await shared.http.start();
  const store = runtime.services.delivery?.store;
  const rotation = store === undefined ? undefined : new SecretRotation(store, () => current.targets, log);
  // Rotated secrets sign from the first delivery on, not from the first poll.
  await rotation?.start();
  let deactivate = current.activate();
  const removeStage = host.addEmitStage((event) => current.router.stage(event));

  runtime.services.targets = {
    get targets() {
      return current.targets;
    },
    get router() {
      return current.router;
    },
    get ssrf() {
      return current.ssrf;
    },
    http: shared.http,
    rotation,
    runNow(name, record) {
      const target = current.targets.get(name);
      if (target === undefined) return Promise.reject(new InvalidArgumentError(`No target is named "${name}". Known: ${[...current.targets.keys()].join(', ') || 'none'}.`));
      return current.router.runChain(target, record);
    },
  };
  runtime.services.actions = current.actions;
  runtime.services.callbacks = shared.callbacks;

  runtime.onReload({
    name: 'targets',
    sections: ['handlers', 'webhooks', 'webhooks_path', 'actions', 'ssrf', 'callbacks'],
    // The webhooks_path files are read again on every reload: they may have changed.
    always: (next) => next.webhooks_path !== undefined,
    async prepare(next, previous) {
      if (next.webhooks_path === undefined && isDeepStrictEqual(targetInputs(next), targetInputs(previous))) return undefined;
      if (next.callbacks.ttl !== previous.callbacks.ttl) log.warn('callbacks.ttl applies to callback URLs issued after a restart');
      const built = await buildGeneration(next, shared);
      return {
        commit() {
          const undo = built.activate();
          deactivate();
          deactivate = undo;
          current = built;
          // The new generation's webhooks sign with the rotated secrets, not their config's.
          rotation?.apply();
          runtime.services.actions = built.actions;
          log.info({ targets: built.targets.size }, 'Targets reloaded');
        },
      };
    },
  });
  runtime.onClose(async () => {
    rotation?.stop();
    deactivate();
    removeStage();
    await shared.http.close();
  });
  log.debug({ targets: current.targets.size }, 'Targets installed');
}

export const handlersInstaller: Installer = { name: 'handlers', needs: ['delivery'], install: installTargets };
