// `hookwork/config`: the config beyond loadConfig: the schema (zod and JSON
// Schema), validation of raw input or of several sources, INI conversion,
// checks of one's own (registerConfigCheck), and each section's type
// (docs/config.md). Re-exports only.

export { DEFAULT_CONFIG_PATH, validateConfigSources } from '../config/load.js';
export type { ValidateSourcesOptions } from '../config/load.js';
export { configJsonSchema, configSchema } from '../config/schema.js';
export { iniToConfig } from '../config/ini.js';
export { parseConfig } from '../runtime/runtime.js';
export { templateProblems } from '../config/checks.js';
export type { ConfigCheck, ConfigCheckContext, TemplateCheckOptions, WebhookFileEntry } from '../config/checks.js';
export { registerConfigCheck } from '../config/run-checks.js';
export type { DeliveryConfig, StoreConfig } from '../delivery/config-schema.js';
export type { PluginsConfig } from '../plugins/config-schema.js';
export type { ExtensionHandlerConfig, ExtensionHandlerConfigInput, ExtensionsConfig } from '../extensions/config-schema.js';
export type { CommandHandlerConfig } from '../commands/config-schema.js';
export type { WebhookHandlerConfig } from '../webhooks/config-schema.js';
