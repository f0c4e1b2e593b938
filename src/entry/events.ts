// `hookwork/events`: working with events outside the hooks: the catalogue,
// the engine's own definitions, context lookup, templates and filters
// (docs/events.md, docs/templates.md, docs/filters.md). Re-exports only.

export { EventCatalogue } from '../events/catalogue.js';
export { ENGINE_EVENT_DEFINITIONS } from '../events/engine-events.js';
export { PEER_ACCOUNT_UUID, PROCESS_ACCOUNT_UUID } from '../events/envelope.js';
export { MISSING, SECRET_PATHS, lookup, lookupIn } from '../events/context.js';
export type { LookupOptions } from '../events/context.js';
export { EVENT_CONTEXT_VARIABLES, compileStringTemplate, compileTemplate, renderTemplate, unknownPlaceholders } from '../events/template.js';
export type { Template } from '../events/template.js';
export { compileExpression, compileFilters, filtersShape } from '../events/filters.js';
export type { CompileFiltersOptions, DataFilter, EventFilter, FiltersConfig } from '../events/filters.js';
