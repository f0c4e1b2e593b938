// Public API: re-exports only.

export * from './errors.js';
export { createHost } from './host.js';
export type {
  EmitStage,
  EventFor,
  EventsOf,
  ChangesOf,
  GatesOf,
  HookMap,
  Host,
  HostOptions,
  HostScope,
  MethodsOf,
  SubscribeOptions,
  SubscriptionTarget,
} from './host.js';
export { EventCatalogue } from './events/catalogue.js';
export type { CatalogueEntry, DataSchema, EventDefinition } from './events/catalogue.js';
export { ENGINE_EVENTS, ENGINE_EVENT_DEFINITIONS } from './events/engine-events.js';
export { PEER_ACCOUNT_UUID, PROCESS_ACCOUNT_UUID } from './events/envelope.js';
export { eventToJSON } from './events/event-json.js';
export type {
  AccountInput,
  ComponentInput,
  EmitInput,
  EventAccount,
  EventComponent,
  EventData,
  EventPeer,
  EventServer,
  HookworkEvent,
} from './events/envelope.js';
export type { EventTimestamp } from './events/timestamp.js';
export { MISSING, SECRET_PATHS, lookup, lookupIn } from './events/context.js';
export { EVENT_CONTEXT_VARIABLES, compileStringTemplate, compileTemplate, renderTemplate, unknownPlaceholders } from './events/template.js';
export type { Template } from './events/template.js';
export { allow, deny, handled } from './hooks/gate.js';
export type { GateCallInfo, GateDecision, GateFn, GatePointOptions, GateRegistration, GateResult } from './hooks/gate.js';
export { block, isBlock } from './hooks/change.js';
export type { ChangeBlock, ChangeHookFn, ChangeMode, ChangeOutcome, ChangePointOptions, ChangeRequest } from './hooks/change.js';
export type { ArgsOf, MethodFn, MiddlewareFn, Next } from './hooks/middleware.js';
export { Monitor } from './hooks/monitor.js';
export type { MonitoringKind, MonitoringPoint, MonitoringSink } from './hooks/monitor.js';
export { Scope } from './hooks/scope.js';
export type { Disposer, RegistrationKind } from './hooks/scope.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';

// extension handlers
export { compileFilters, compileExpression, filtersShape } from './events/filters.js';
export type { CompileFiltersOptions, DataFilter, EventFilter, FiltersConfig } from './events/filters.js';
export type {
  ConfigurationDecision,
  DecisionEvents,
  Delayed,
  ExtensionHandlerClass,
  ExtensionHandlerInstance,
  ExtensionParent,
  ExtensionTask,
  HandleResult,
  ResultEvent,
  WorkerEvent,
} from './extensions/contract.js';
export { ExtensionPool } from './extensions/pool.js';
export type { ExtensionPoolOptions, PoolStats } from './extensions/pool.js';
export { ExtensionHandler } from './extensions/handler.js';
export type {
  ExtensionHandlerCounters,
  ExtensionHandlerError,
  ExtensionHandlerInfo,
  ExtensionHandlerOptions,
  ExtensionHandlerState,
} from './extensions/handler.js';
export type { ExtensionsService } from './runtime/install-extensions.js';
export type { ExtensionHandlerConfig, ExtensionHandlerConfigInput, ExtensionsConfig } from './extensions/config-schema.js';

// configuration
export { DEFAULT_CONFIG_PATH, loadConfig, validateConfigSources } from './config/load.js';
export type { ConfigSource, LoadedConfig, ValidateSourcesOptions } from './config/load.js';
export { templateProblems } from './config/checks.js';
export { registerConfigCheck, runConfigChecks } from './config/run-checks.js';
export type { ConfigCheck, ConfigCheckContext, TemplateCheckOptions, WebhookFileEntry } from './config/checks.js';
export { iniToConfig } from './config/ini.js';
export { configJsonSchema, configSchema } from './config/schema.js';
export { createRuntime, parseConfig } from './runtime/runtime.js';
export type { Installer, Runtime, RuntimeOptions, RuntimeServices } from './runtime/runtime.js';
export type { ConfigSection, PreparedReload, Reloadable, ReloadReport } from './runtime/reload.js';
export type { ClusterControl } from './cluster/control.js';
export type { RuntimeClusterControl } from './runtime/install-cluster.js';
export type { EventDefinitionConfig, HandlerConfig, HookworkConfig, HookworkConfigInput } from './config/schema.js';

// plugins
export { definePlugin } from './plugins/definition.js';
export type { PluginClass, PluginDefinition, PluginHooks, PluginMeta } from './plugins/definition.js';
export type {
  MonitoringListener,
  PluginContext,
  PluginHostInfo,
  ScheduleOptions,
  SendingListener,
  TaskFn,
  TaskOptions,
} from './plugins/context.js';
export { PluginManager } from './plugins/manager.js';
export type { PluginInfo, PluginManagerOptions, PluginsReconfiguration, PluginsReconfigured, PluginState } from './plugins/manager.js';
export { PluginRoutes, respond } from './plugins/routes.js';
export type { PluginRequest, PluginResponse, PluginRouteHandler, PluginRouteOptions } from './plugins/routes.js';
export { pluginsConfigSchema } from './plugins/config-schema.js';
export type { PluginsConfig } from './plugins/config-schema.js';
export type { SendingRecord } from './hooks/channel.js';

// commands, webhooks and actions
export { Actions, ACTION_STATUS_CODES, action } from './actions/actions.js';
export type { ActionInput, ActionResult, ActionRunOptions, ActionStatus, PostInput, PostResult } from './actions/actions.js';
export { CommandTarget } from './commands/runner.js';
export type { CommandPreset, CommandReport, CommandTargetOptions, OutputFormat } from './commands/runner.js';
export { WebhookTarget, parseRetryAfter } from './webhooks/sender.js';
export type { WebhookDeps, WebhookTargetOptions } from './webhooks/sender.js';
export { HTTP_METHODS } from './http/methods.js';
export type { HttpMethod } from './http/methods.js';
export { WebhookSigner, decodeSecret, generateSecret } from './http/signing.js';
export type { SignatureHeaders } from './http/signing.js';
export { SsrfGuard, parseCidr } from './http/ssrf-guard.js';
export type { CheckedTarget, Resolver, SsrfGuardOptions } from './http/ssrf-guard.js';
export { HttpPools } from './http/pools.js';
export type { HttpPoolsOptions } from './http/pools.js';
export { SenderThread } from './http/sender-thread.js';
export type { SenderThreadOptions } from './http/sender-thread.js';
export { RequestForm } from './http/transport.js';
export type { FormRequest, HttpLane, HttpTransport, RequestFormOptions } from './http/transport.js';
export { ClientPool } from './http/client-pool.js';
export type { ClientPoolOptions } from './http/client-pool.js';
export { Callbacks, MemoryCallbackStore, hashToken } from './webhooks/callbacks.js';
export type { CallbackRecord, CallbackReport, CallbackStore, CallbacksOptions, StoredCallback } from './webhooks/callbacks.js';
export { SFTPGO_ENV_NAMES, sftpgoArgs, sftpgoEnv } from './commands/sftpgo-preset.js';
export type { BodyFormat } from './webhooks/body-format.js';
export type { EventRecord, OutboundTarget, RunResult, TemplateExtras } from './handlers/target.js';
export type { TargetsService } from './runtime/install-handlers.js';
export type { CommandHandlerConfig } from './commands/config-schema.js';
export type { MagpieWebhookConfig, WebhookHandlerConfig } from './webhooks/config-schema.js';

// gateway
export { createGateway } from './server/gateway.js';
export type { Gateway, GatewayOptions } from './server/gateway.js';
export { zodValidatorCompiler } from './server/zod-validation.js';
// delivery
export { DeliveryService } from './delivery/service.js';
export { newWebhookId } from './delivery/message-id.js';
export type { DeliveryServiceOptions, ReplayOptions, TargetReport } from './delivery/service.js';
export { openStore, sqlitePath } from './delivery/open-store.js';
export { MemoryStore } from './delivery/memory-store.js';
export type { MemoryStoreOptions } from './delivery/memory-store.js';
export { RetryPolicy } from './delivery/retry-policy.js';
export { CircuitBreaker } from './delivery/circuit-breaker.js';
export { CLUSTER_TOPICS, LocalClusterBus } from './cluster/bus.js';
export type { ClusterBus, ClusterListener, ClusterMessage } from './cluster/bus.js';
export { parseSince } from './delivery/parse-time.js';
export type {
  DeliveryDetail,
  DeliveryStore,
  ListFilter,
  ReplayableState,
  TargetDepth,
} from './delivery/store.js';
export type {
  AttemptContext,
  AttemptRecord,
  AttemptResult,
  DeliveryQueue,
  DeliveryRecord,
  DeliveryState,
  DeliveryTarget,
  NewDelivery,
} from './delivery/types.js';
export type { DeliveryConfig, StoreConfig } from './delivery/config-schema.js';
