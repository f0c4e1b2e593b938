// The live route table of plugin routes (LUNA's background plugins serve
// custom routes). fastify cannot remove routes, so the gateway registers one
// catch-all under /plugins/* and asks this table; plugins add and remove
// routes at run time. Routing is a Map lookup by plugin, then by method,
// then a match over that plugin's few patterns.

import type { Role } from '../roles.js';
import { InvalidArgumentError, PluginRouteConflictError } from '../errors.js';
import type { Disposer } from '../hooks/scope.js';

export const PLUGIN_ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type PluginRouteMethod = (typeof PLUGIN_ROUTE_METHODS)[number];

export interface PluginRequest {
  readonly method: string;
  /** The path below /plugins/<name>, starting with "/". */
  readonly path: string;
  /** `:name` segments of the pattern, and `*` for a trailing wildcard. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[]>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed body (JSON, or a string for text). */
  readonly body: unknown;
  /** Who called, when the route needs a token. */
  readonly principal?: { readonly name: string; readonly role: Role };
}

const RESPONSE = Symbol('hookwork.pluginResponse');

export interface PluginResponse {
  readonly [RESPONSE]: true;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Anything else a handler returns is sent as JSON with status 200 (undefined: 204). */
export type PluginRouteHandler = (request: PluginRequest) => unknown;

export interface PluginRouteOptions {
  /** Who may call it: a role (token needed) or "public". Default "viewer". */
  access?: Role | 'public';
}

/** A response with a status and headers, for route handlers. */
export function respond(status: number, body?: unknown, headers: Record<string, string> = {}): PluginResponse {
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new InvalidArgumentError(`respond(): ${status} is not an HTTP status.`);
  return Object.freeze({ [RESPONSE]: true as const, status, headers: Object.freeze({ ...headers }), body });
}

export function isPluginResponse(value: unknown): value is PluginResponse {
  return typeof value === 'object' && value !== null && (value as Partial<PluginResponse>)[RESPONSE] === true;
}

export interface PluginRoute {
  readonly plugin: string;
  readonly method: PluginRouteMethod;
  readonly path: string;
  readonly access: Role | 'public';
  readonly handler: PluginRouteHandler;
  /** Literal segments, or `:name` / `*`. */
  readonly segments: readonly string[];
}

export interface PluginRouteMatch {
  readonly route: PluginRoute;
  readonly params: Record<string, string>;
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** "/a//b/" → "/a/b". */
export function normalizeRoutePath(path: string): string {
  return `/${split(path).join('/')}`;
}

function matchSegments(segments: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '*') {
      params['*'] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) params[segment.slice(1)] = part;
    else if (segment !== part) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}

export class PluginRoutes {
  readonly #byPlugin = new Map<string, Map<string, PluginRoute[]>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(plugin: string, method: string, path: string, handler: PluginRouteHandler, options: PluginRouteOptions = {}): Disposer {
    const upper = method.toUpperCase() as PluginRouteMethod;
    if (!PLUGIN_ROUTE_METHODS.includes(upper)) {
      throw new InvalidArgumentError(`ctx.route(): method "${method}" is not one of ${PLUGIN_ROUTE_METHODS.join(', ')}.`);
    }
    if (typeof path !== 'string' || typeof handler !== 'function') {
      throw new InvalidArgumentError('ctx.route(method, path, handler): path must be a string and handler a function.');
    }
    const normalized = normalizeRoutePath(path);
    const segments = split(normalized);
    if (segments.slice(0, -1).includes('*')) throw new InvalidArgumentError(`ctx.route(): "*" may only end the path ("${path}").`);
    let methods = this.#byPlugin.get(plugin);
    if (methods === undefined) {
      methods = new Map();
      this.#byPlugin.set(plugin, methods);
    }
    const list = methods.get(upper) ?? [];
    if (list.some((r) => r.path === normalized)) throw new PluginRouteConflictError(plugin, upper, normalized);
    const route: PluginRoute = Object.freeze({
      plugin,
      method: upper,
      path: normalized,
      access: options.access ?? 'viewer',
      handler,
      segments,
    });
    // Literal routes before parametric ones, wildcards last.
    const rank = (r: PluginRoute): number => (r.segments.includes('*') ? 2 : r.segments.some((s) => s.startsWith(':')) ? 1 : 0);
    methods.set(upper, [...list, route].sort((a, b) => rank(a) - rank(b)));
    this.#size++;
    return () => {
      const current = this.#byPlugin.get(plugin)?.get(upper);
      if (current === undefined || !current.includes(route)) return;
      const next = current.filter((r) => r !== route);
      if (next.length > 0) methods.set(upper, next);
      else methods.delete(upper);
      if (methods.size === 0) this.#byPlugin.delete(plugin);
      this.#size--;
    };
  }

  /** The route for a request, or why there is none. */
  match(plugin: string, method: string, path: string): PluginRouteMatch | 'no-plugin' | 'no-route' {
    const methods = this.#byPlugin.get(plugin);
    if (methods === undefined) return 'no-plugin';
    const list = methods.get(method.toUpperCase()) ?? (method.toUpperCase() === 'HEAD' ? methods.get('GET') : undefined);
    if (list === undefined) return 'no-route';
    const parts = split(path);
    for (const route of list) {
      const params = matchSegments(route.segments, parts);
      if (params !== undefined) return { route, params };
    }
    return 'no-route';
  }

  /** Every plugin's routes, for listings (the gateway's routes()). */
  all(): Array<{ plugin: string; method: string; path: string; access: Role | 'public' }> {
    return [...this.#byPlugin.keys()].flatMap((plugin) => this.list(plugin).map((r) => ({ plugin, ...r, access: r.access as Role | 'public' })));
  }

  /** Routes of one plugin, for listings. */
  list(plugin: string): Array<{ method: string; path: string; access: string }> {
    const methods = this.#byPlugin.get(plugin);
    if (methods === undefined) return [];
    return [...methods.values()].flat().map((r) => ({ method: r.method, path: `/plugins/${plugin}${r.path === '/' ? '' : r.path}`, access: r.access }));
  }
}
