// `hookwork/extensions`: running extension handlers without a runtime: the
// worker pool and the handler that feeds it, and the runtime's extensions
// service (docs/extensions.md). Writing a handler needs only the root
// entry's types. Re-exports only.

export { ExtensionPool } from '../extensions/pool.js';
export type { ExtensionPoolOptions, PoolStats } from '../extensions/pool.js';
export { ExtensionHandler } from '../extensions/handler.js';
export type {
  ExtensionHandlerCounters,
  ExtensionHandlerError,
  ExtensionHandlerInfo,
  ExtensionHandlerOptions,
  ExtensionHandlerState,
} from '../extensions/handler.js';
export type { ExtensionsService } from '../runtime/install-extensions.js';
