// What a route module is: a function that registers one concern's routes on
// the fastify instance, given the runtime and the gateway's auth. A leaf, so
// gateway.ts can list the modules and the modules can name their own type.

import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime/types.js';
import type { TokenAuth } from './auth.js';
import type { SessionStore } from './sessions.js';

/** The console's settings the gateway was built with (tests shorten the timings and point at a fixture UI). */
export interface ConsoleSettings {
  /** Where the built UI is (default: dist/ui of the installed package). */
  readonly uiDir: string;
  /** Between two `: ping` comments on an event stream (default 15 s). */
  readonly pingMs: number;
  /** Events queued per stream client that cannot keep up before more are dropped (default 256). */
  readonly streamQueue: number;
  /** How long a broken event stream waits for its browser to reconnect and resume it (default 30 s). */
  readonly resumeMs: number;
  /** The stats' interval (default 10 s). */
  readonly statsIntervalMs: number;
}

export interface RouteContext {
  readonly runtime: Runtime;
  readonly auth: TokenAuth;
  /** The console's sessions; undefined when `ui.enabled` is false (no session routes, no cookie accepted). */
  readonly sessions?: SessionStore;
  readonly console: ConsoleSettings;
}

/** One concern's routes. */
export type RouteModule = (app: FastifyInstance, context: RouteContext) => void | Promise<void>;
