// installTargets(runtime): builds command and webhook targets from the
// config's handlers and Magpie `webhooks`, registers them with the delivery
// queue, routes events to them (an emit stage that enqueues before emit
// returns, or runs them inline when sync), registers `pre-*` handlers as
// gates, and exposes `runtime.services.targets`, `.actions` and `.callbacks`.
// Everything built from the config is one generation; a config reload builds
// the next one and swaps it in synchronously, so no event is routed to both
// or to neither. Callback tokens and the HTTP transport outlive generations.

import { isDeepStrictEqual } from 'node:util';
import type { HookworkConfig } from '../config/schema.js';
import { ConfigError, InvalidArgumentError, type ConfigProblem } from '../errors.js';
import { ENGINE_EVENTS } from '../events/engine-events.js';
import { eventToJSON, type AccountInput, type HookworkEvent } from '../events/envelope.js';
import type { AttemptContext, DeliveryQueue, DeliveryRecord, DeliveryTarget } from '../delivery/types.js';
import { compileFilters } from '../events/filters.js';
import type { Host } from '../host.js';
import type { Installer, Runtime } from './types.js';
import { Actions } from '../actions/actions.js';
import { Callbacks, type CallbackReport } from '../webhooks/callbacks.js';
import { CommandTarget } from '../commands/runner.js';
import { targetsConfigProblems } from '../config/handler-checks.js';
import type { CommandHandlerConfig } from '../commands/config-schema.js';
import type { MagpieWebhookConfig, WebhookHandlerConfig } from '../webhooks/config-schema.js';
import { SFTPGO_GATE, SFTPGO_PRE_DELETE, targetGate, type GateBehaviour } from '../handlers/gate-adapter.js';
import { HttpPools } from '../http/pools.js';
import type { HttpTransport } from '../http/transport.js';
import { SenderThread } from '../http/sender-thread.js';
import { TargetRouter } from '../handlers/router.js';
import { digestRecord } from '../handlers/digest.js';
import { SsrfGuard } from '../http/ssrf-guard.js';
import type { EventRecord, OutboundTarget, TemplateExtras } from '../handlers/target.js';
import { loadWebhookFiles, webhookEntries } from '../config/webhook-files.js';
import { WebhookTarget } from '../webhooks/sender.js';
import type { EmailHandlerConfig } from '../email/config-schema.js';
import { EmailTarget } from '../email/target.js';
import { smtpTransport, type MailTransport } from '../email/transport.js';

export interface TargetsService {
  /** Targets by name (`handler:<name>`, `webhook:<name>`). */
  readonly targets: ReadonlyMap<string, OutboundTarget>;
  readonly router: TargetRouter;
  readonly ssrf: SsrfGuard;
  /** Where webhook requests go out (a SenderThread unless delivery.sender_thread is false). */
  readonly http: HttpTransport;
  /** Runs a target now, outside the queue, with the targets chained after it; returns the failures. */
  runNow(name: string, record: EventRecord): Promise<string[]>;
}

declare module './types.js' {
  interface RuntimeServices {
    targets: TargetsService;
    actions: Actions;
    callbacks: Callbacks;
  }
}

type OutboundHandler = CommandHandlerConfig | WebhookHandlerConfig | EmailHandlerConfig;

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

async function buildGeneration(config: HookworkConfig, shared: Shared): Promise<Generation> {
  const { runtime, log, queue, http, callbacks } = shared;
  const { host } = runtime;
  const webhookList = await webhooksOf(runtime, config);
  const handlers = config.handlers.filter(isOutbound).filter((h) => h.enabled);

  // Declared actions become catalogue events (and pre-gates with their options).
  const declared = new Set([...config.actions.execute_sync, ...Object.keys(config.actions.options)]);
  for (const name of declared) {
    resolveEventIds(host, name, true);
    const options = config.actions.options[name];
    host.declareGate(`pre-${name}`, {
      ...(options?.fail_open === undefined ? {} : { failOpen: options.fail_open }),
      ...(options?.gate_timeout === undefined ? {} : { timeoutMs: options.gate_timeout * 1000 }),
    });
  }

  const ssrf = new SsrfGuard({ allow: config.ssrf.allow });

  const emitCommandReport = (data: Record<string, unknown>): void => {
    if (host.closed) return;
    host.emit(ENGINE_EVENTS.commandExecuted, { data }).catch((err: unknown) => log.warn({ err }, 'Could not emit command-executed'));
  };

  const extrasFor = (targetName: string, handlerName: string, withCallback: boolean): TemplateExtras => {
    const handler = Object.freeze({ name: handlerName });
    if (!withCallback) return () => ({ handler });
    return (event, context) => ({
      handler,
      // Issued only when a template reads it.
      get callback_url(): string {
        const account = (event['account'] ?? {}) as Record<string, unknown>;
        return callbacks.urlFor({
          target: targetName,
          webhookId: context.webhookId,
          eventId: String(event['id'] ?? ''),
          eventUuid: String(event['uuid'] ?? ''),
          eventName: String(event['name'] ?? ''),
          accountName: String(account['name'] ?? ''),
          accountUuid: String(account['uuid'] ?? ''),
        });
      },
    });
  };

  const targets = new Map<string, OutboundTarget>();
  // Each e-mail handler's SMTP pool: closed when its generation is swapped out.
  const transports: MailTransport[] = [];
  const chains = new Map<string, readonly string[]>();
  const digests = new Map<string, NonNullable<DeliveryTarget['digest']>>();
  for (const handler of handlers) {
    const name = handlerTargetName(handler.name);
    if (handler.digest !== undefined) {
      digests.set(name, {
        ...(handler.digest.max_events === undefined ? {} : { maxEvents: handler.digest.max_events }),
        ...(handler.digest.within === undefined ? {} : { withinMs: handler.digest.within * 1000 }),
      });
    }
    if (targets.has(name)) throw new ConfigError([{ key: 'handlers', message: `two handlers are named "${handler.name}"; names must be unique` }]);
    let target: OutboundTarget;
    if (handler.type === 'command') {
      target = new CommandTarget({
        name,
        command: handler.command,
        ...(handler.args === undefined ? {} : { args: handler.args }),
        env: handler.env,
        envPassthrough: handler.env_passthrough,
        timeoutMs: handler.timeout * 1000,
        killGraceMs: handler.kill_grace * 1000,
        outputCap: handler.output_cap,
        outputFormat: handler.output_format,
        concurrency: handler.concurrency,
        ...(handler.preset === undefined ? {} : { preset: handler.preset }),
        ...(handler.cwd === undefined ? {} : { cwd: runtime.resolvePath(handler.cwd) }),
        grants: handler.grants,
        retryExitCodes: handler.retry_exit_codes,
        extras: extrasFor(name, handler.name, false),
        onExecuted: (report) => emitCommandReport({ ...report }),
        metrics: runtime.host.metrics,
      });
      if (handler.then.length > 0) chains.set(name, handler.then.map(handlerTargetName));
    } else if (handler.type === 'email') {
      const transport = smtpTransport(handler.smtp, {
        where: `handlers.${config.handlers.indexOf(handler)}`,
        timeoutMs: handler.timeout * 1000,
        env: process.env,
        resolvePath: (path) => runtime.resolvePath(path),
      });
      transports.push(transport);
      target = new EmailTarget(
        {
          name,
          from: handler.from,
          to: handler.to,
          ...(handler.cc === undefined ? {} : { cc: handler.cc }),
          ...(handler.bcc === undefined ? {} : { bcc: handler.bcc }),
          subject: handler.subject,
          ...(handler.text === undefined ? {} : { text: handler.text }),
          ...(handler.html === undefined ? {} : { html: handler.html }),
          attachments: handler.attachments.map((a) => ({ path: a.path, maxBytes: a.max_bytes, ...(a.filename === undefined ? {} : { filename: a.filename }) })),
          attachmentsFrom: handler.attachments_from,
          grants: handler.grants,
          concurrency: handler.concurrency,
          extras: extrasFor(name, handler.name, false),
        },
        transport,
      );
    } else {
      target = new WebhookTarget(
        {
          name,
          url: handler.url,
          fallbackUrls: handler.fallback_urls,
          method: handler.method,
          headers: handler.headers,
          format: handler.format,
          payload: handler.payload,
          timeoutMs: handler.timeout * 1000,
          ...(handler.success_status === undefined ? {} : { successStatus: handler.success_status }),
          secrets: handler.secrets,
          grants: handler.grants,
          concurrency: handler.concurrency,
          extras: extrasFor(name, handler.name, true),
        },
        { http, ssrf },
      );
    }
    targets.set(name, target);
  }
  for (const hook of webhookList) {
    const name = webhookTargetName(hook.name);
    targets.set(
      name,
      new WebhookTarget(
        {
          name,
          url: hook.url,
          ...(hook.fallback_urls === undefined ? {} : { fallbackUrls: hook.fallback_urls }),
          method: hook.method,
          ...(hook.headers === undefined ? {} : { headers: hook.headers }),
          format: hook.format ?? 'json',
          payload: hook.payload,
          ...(hook.timeout === undefined ? {} : { timeoutMs: hook.timeout * 1000 }),
          ...(hook.success_status === undefined ? {} : { successStatus: hook.success_status }),
          ...(hook.secrets === undefined ? {} : { secrets: hook.secrets }),
          ...(hook.grants === undefined ? {} : { grants: hook.grants }),
          extras: extrasFor(name, hook.name, true),
          dataAsRoot: true,
        },
        { http, ssrf },
      ),
    );
  }

  if (queue === undefined && targets.size > 0) {
    throw new InvalidArgumentError('Command and webhook targets need the delivery queue: installDelivery must run before installTargets (see INSTALLERS in src/runtime/runtime.ts).');
  }
  // The queue runs chains too: a success enqueues the targets after it, with `output`.
  const deliverables: DeliveryTarget[] = [...targets.values()].map((target) => {
    const next = chains.get(target.name);
    const digest = digests.get(target.name);
    if (next === undefined && digest === undefined) return target;
    // A digest delivery's event is the JSON array of its events: a webhook sends it as its body; commands and e-mail render it.
    const attemptOnce =
      digest === undefined || target.kind === 'webhook'
        ? (delivery: DeliveryRecord, context: AttemptContext) => target.attempt(delivery, context)
        : (delivery: DeliveryRecord, context: AttemptContext) => target.run(digestRecord(delivery.event as unknown as unknown[]), context);
    return {
      name: target.name,
      kind: target.kind,
      concurrency: target.concurrency,
      ...(digest === undefined ? {} : { digest }),
      async attempt(delivery, context) {
        const result = await attemptOnce(delivery, context);
        if (result.ok && next !== undefined) {
          await (queue as DeliveryQueue).enqueue(next.map((n) => ({ target: n, event: { ...delivery.event, output: result.output ?? null } })));
        }
        return result;
      },
    };
  });

  const syncEventNames = new Set<string>([
    ...config.actions.execute_sync,
    ...Object.entries(config.actions.options)
      .filter(([, o]) => o.execute_sync === true)
      .map(([n]) => n),
  ]);
  const router = new TargetRouter({
    queue: queue ?? { registerTarget: () => () => undefined, enqueue: async () => [] },
    logger: log,
    targets,
    chains,
    syncEventNames,
    onSyncFailure(target, event, error) {
      log.warn({ target: target.name, event: event.id }, `Sync target "${target.name}" failed on event ${event.id}`);
      if (event.id === ENGINE_EVENTS.handlerFailed || host.closed) return;
      host
        .emit(ENGINE_EVENTS.handlerFailed, {
          data: { handler: target.name, kind: target.kind, event_id: event.id, event_uuid: event.uuid, error, stack: '' },
        })
        .catch((err: unknown) => log.warn({ err }, 'Could not emit handler-failed'));
    },
  });

  // Gates are registered on activation; routes live in this generation's router.
  const gates: Array<{ name: string; fn: ReturnType<typeof targetGate>; timeoutMs: number; target: string }> = [];
  for (const handler of handlers) {
    const target = targets.get(handlerTargetName(handler.name)) as OutboundTarget;
    const gateNames = (handler.actions ?? []).filter((a) => a.startsWith('pre-') && !host.catalogue.has(a));
    const followed = (handler.actions ?? []).filter((a) => !gateNames.includes(a));
    for (const gate of gateNames) {
      const behaviour: GateBehaviour =
        handler.gate ?? (handler.type === 'command' && handler.preset === 'sftpgo' && gate === 'pre-delete' ? SFTPGO_PRE_DELETE : SFTPGO_GATE);
      const graceMs = handler.type === 'command' ? handler.kill_grace * 1000 : 0;
      gates.push({ name: gate, fn: targetGate(gate, target, behaviour, host.server), timeoutMs: handler.timeout * 1000 + graceMs + 1000, target: target.name });
    }
    const actionIds = followed.flatMap((a) => resolveEventIds(host, a, declared.has(a)));
    const hasFilters = handler.target_events !== undefined;
    if (!hasFilters && handler.actions !== undefined && followed.length === 0) continue; // a gate only
    const filter = compileFilters(
      { ...handler, target_events: [...(handler.target_events ?? []), ...actionIds] },
      { where: `handlers.${config.handlers.indexOf(handler)}` },
    );
    router.add(filter.eventIds, { target, matches: (event) => filter.matches(event), sync: handler.sync });
  }
  for (const hook of webhookList) {
    const target = targets.get(webhookTargetName(hook.name)) as OutboundTarget;
    router.add(resolveEventIds(host, hook.action, declared.has(hook.action)), { target, sync: false });
  }

  // A receiver reporting failure: an event, and the configured handlers get it.
  const onFailureTargets = config.callbacks.on_failure
    .map((name) => targets.get(handlerTargetName(name)) ?? targets.get(webhookTargetName(name)))
    .filter((t): t is OutboundTarget => t !== undefined);
  const onCallbackFailure = async (report: CallbackReport): Promise<void> => {
    const account: AccountInput = { name: report.record.accountName, ...(report.record.accountUuid === '' ? {} : { uuid: report.record.accountUuid }) };
    const event: HookworkEvent = await host.emit(ENGINE_EVENTS.callbackFailed, {
      account,
      data: {
        target: report.record.target,
        webhook_id: report.record.webhookId,
        event_id: report.record.eventId,
        event_uuid: report.record.eventUuid,
        event_name: report.record.eventName,
        error: report.error,
        ...(report.details === undefined ? {} : { details: report.details }),
      },
    });
    if (onFailureTargets.length > 0 && queue !== undefined) {
      await queue.enqueue(onFailureTargets.map((t) => ({ target: t.name, event: eventToJSON(event, { grantToken: t.grants.has('account.token') }) })));
    }
  };

  return {
    targets,
    router,
    ssrf,
    actions: new Actions({ host, router, declared, syncEventNames, options: config.actions.options }),
    activate() {
      const scope = host.scope('targets');
      const removers = [
        ...(queue === undefined ? [] : deliverables.map((d) => queue.registerTarget(d))),
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

async function installTargets(runtime: Runtime): Promise<void> {
  const { config, host } = runtime;
  const log = runtime.logger.child({ component: 'targets' });
  // Enough sockets per origin for the busiest webhook's concurrency.
  const busiest = Math.max(16, ...config.handlers.map((h) => (h.type === 'webhook' ? h.concurrency : 0)));
  const shared: Shared = {
    runtime,
    log,
    queue: runtime.services.delivery as DeliveryQueue | undefined,
    http: config.delivery.sender_thread ? new SenderThread({ connections: busiest }) : new HttpPools({ connections: busiest }),
    callbacks: new Callbacks({
      ttlSeconds: config.callbacks.ttl,
      ...(config.server.public_url === undefined ? {} : { publicUrl: config.server.public_url }),
    }),
  };
  let current = await buildGeneration(config, shared);
  // With webhooks configured, the sender thread starts with the runtime, not under the first deliveries.
  if (shared.http instanceof SenderThread && [...current.targets.values()].some((t) => t.kind === 'webhook')) await shared.http.start();
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
          runtime.services.actions = built.actions;
          log.info({ targets: built.targets.size }, 'Targets reloaded');
        },
      };
    },
  });
  runtime.onClose(async () => {
    deactivate();
    removeStage();
    await shared.http.close();
  });
  log.debug({ targets: current.targets.size }, 'Targets installed');
}

export const handlersInstaller: Installer = { name: 'handlers', needs: ['delivery'], install: installTargets };
