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
export { PEER_ACCOUNT_UUID, PROCESS_ACCOUNT_UUID, eventToJSON } from './events/envelope.js';
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
export type { MethodFn, MiddlewareFn, Next } from './hooks/middleware.js';
export { Monitor } from './hooks/monitor.js';
export type { MonitoringKind, MonitoringPoint, MonitoringSink } from './hooks/monitor.js';
export { Scope } from './hooks/scope.js';
export type { Disposer, RegistrationKind } from './hooks/scope.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';

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
export type { PluginInfo, PluginManagerOptions, PluginState } from './plugins/manager.js';
export { PluginRoutes, respond } from './plugins/routes.js';
export type { PluginRequest, PluginResponse, PluginRouteHandler, PluginRouteOptions } from './plugins/routes.js';
export { installPlugins } from './plugins/install.js';
export { pluginsConfigSchema } from './plugins/config-schema.js';
export type { PluginsConfig } from './plugins/config-schema.js';
export type { SendingRecord } from './hooks/channel.js';
