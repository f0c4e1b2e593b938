// The root entry, `hookwork`: what an embedder needs to run the engine
// (createHost, createRuntime, createGateway, loadConfig), to write a plugin
// (definePlugin, respond) or an extension handler (its contract's types), to
// run an action, to decide in a gate or a change hook, every error class, and
// the types these take and return. Re-exports only. The building blocks
// (stores, targets, pools, schemas, templates) are in the subpath entries,
// src/entry/<name>.ts as `hookwork/<name>`; docs/architecture.md lists them.
// test/public-api.test.ts records this list, so a change to it is deliberate.

export * from './errors.js';

// the host: events, gates, change hooks, middleware
export { createHost } from './host.js';
export type {
  EmitOptions,
  EmitStage,
  EventFor,
  EventsOf,
  ChangesOf,
  GatesOf,
  HookMap,
  Host,
  HostOptions,
  HostScope,
  IdempotentEmit,
  MethodsOf,
  SubscribeOptions,
  SubscriptionTarget,
} from './host.js';
export type { IdempotencyKeeper, IdempotencyOptions } from './events/idempotency.js';
export { allow, deny, handled } from './hooks/gate.js';
export type { GateCallInfo, GateDecision, GateFn, GatePointOptions, GateRegistration, GateResult } from './hooks/gate.js';
export { block } from './hooks/change.js';
export type { ChangeBlock, ChangeHookFn, ChangeMode, ChangeOutcome, ChangePointOptions, ChangeRequest } from './hooks/change.js';
export type { ArgsOf, MethodFn, MiddlewareFn, Next } from './hooks/middleware.js';
export type { Monitor, MonitoringKind, MonitoringPoint, MonitoringSink } from './hooks/monitor.js';
export { Scope } from './hooks/scope.js';
export type { Disposer, RegistrationKind } from './hooks/scope.js';
export type { SendingRecord } from './hooks/channel.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';

// events
export { ENGINE_EVENTS } from './events/engine-events.js';
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
export type { CatalogueEntry, DataSchema, EventCatalogue, EventDefinition } from './events/catalogue.js';

// configuration and the runtime
export { loadConfig } from './config/load.js';
export type { ConfigSource, LoadedConfig } from './config/load.js';
export type { EventDefinitionConfig, HandlerConfig, HookworkConfig, HookworkConfigInput } from './config/schema.js';
export type { MagpieWebhookConfig } from './webhooks/config-schema.js';
export { createRuntime } from './runtime/runtime.js';
export type { Runtime, RuntimeOptions, RuntimeServices } from './runtime/types.js';
export type { ConfigSection, PreparedReload, Reloadable, ReloadReport } from './runtime/reload.js';

// the gateway
export { createGateway } from './server/gateway.js';
export type { Gateway, GatewayOptions, GatewayRoute } from './server/gateway.js';

// writing a plugin
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
export { respond } from './plugins/routes.js';
export type { PluginRequest, PluginResponse, PluginRouteHandler, PluginRouteOptions } from './plugins/routes.js';

// writing an extension handler (SFTPPlus's contract)
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

// actions
export { action } from './actions/actions.js';
export type { ActionInput, ActionOwner, ActionResult, ActionRunOptions, ActionStatus, PostInput, PostResult } from './actions/actions.js';
