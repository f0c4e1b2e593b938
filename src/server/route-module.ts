// What a route module is: a function that registers one concern's routes on
// the fastify instance, given the runtime and the gateway's auth. A leaf, so
// gateway.ts can list the modules and the modules can name their own type.

import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime/types.js';
import type { TokenAuth } from './auth.js';

export interface RouteContext {
  readonly runtime: Runtime;
  readonly auth: TokenAuth;
}

/** One concern's routes. */
export type RouteModule = (app: FastifyInstance, context: RouteContext) => void | Promise<void>;
