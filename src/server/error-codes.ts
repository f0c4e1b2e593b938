// Which of the catalogue's codes (src/errors.ts: their status and meaning,
// listed in docs/errors.md) the gateway answers with, when, and on which
// routes: what the OpenAPI document (server/openapi.ts) describes per
// operation. A route answering a new code adds it here; its status always
// comes from the catalogue.

import { ERROR_CODES, type ErrorCode } from '../errors.js';

/**
 * Which operations can answer a code: a group of routes, or route keys
 * (`POST /v1/events`, the fastify pattern). `connection` codes are answered
 * before any route is found (the HTTP parser, the router, no such route).
 */
export type ErrorScope = 'connection' | 'every' | 'guarded' | 'validated' | 'json-body' | 'host-facing' | readonly string[];

export interface GatewayErrorCode {
  /** From the catalogue. */
  readonly status: number;
  readonly code: ErrorCode;
  readonly when: string;
  readonly on: ErrorScope;
}

const DELIVERY_ADMIN = [
  'GET /v1/deliveries',
  'GET /v1/deliveries/depth',
  'GET /v1/deliveries/counts',
  'GET /v1/deliveries/:id',
  'GET /v1/targets',
  'POST /v1/deliveries/:id/retry',
  'POST /v1/deliveries/replay',
  'POST /v1/deliveries/targets/:name/enable',
  'POST /v1/deliveries/targets/:name/disable',
];
const PLUGIN_ACTIONS = ['POST /v1/plugins/:name/load', 'POST /v1/plugins/:name/unload', 'POST /v1/plugins/:name/reload'];
const HANDLER_ACTIONS = ['POST /v1/handlers/:name/start', 'POST /v1/handlers/:name/stop'];
const ACTIONS = ['POST /v1/actions/:name/pre', 'POST /v1/actions/:name/post'];

const ANSWERED: ReadonlyArray<Omit<GatewayErrorCode, 'status'>> = [
  { code: 'HKW_ERR_INVALID_INPUT', when: 'the body, query or a path parameter fails validation; `fields` maps each bad field to its problem', on: 'validated' },
  { code: 'FST_ERR_CTP_INVALID_JSON_BODY', when: 'the body is not valid JSON', on: 'json-body' },
  { code: 'FST_ERR_CTP_EMPTY_JSON_BODY', when: 'the content type is JSON but the body is empty', on: 'json-body' },
  { code: 'HKW_ERR_PROTO_POISONING', when: 'the body has a `__proto__` key, or `constructor` holding `prototype`', on: 'json-body' },
  { code: 'HKW_ERR_JSON_TOO_DEEP', when: 'the body nests arrays/objects deeper than `server.json_max_depth`', on: 'json-body' },
  { code: 'FST_ERR_CTP_BODY_TOO_LARGE', when: 'the body is larger than `server.body_limit`', on: 'json-body' },
  { code: 'HKW_ERR_UNSUPPORTED_MEDIA_TYPE', when: 'a host-facing endpoint got a body that is not JSON', on: 'host-facing' },
  { code: 'HKW_ERR_BAD_REQUEST', when: "Node's HTTP parser refused the request; the connection is closed", on: 'connection' },
  { code: 'FST_ERR_BAD_URL', when: 'the path is not valid percent-encoding', on: 'connection' },
  { code: 'FST_ERR_MAX_PARAM_LENGTH', when: 'a path parameter is longer than 100 characters', on: 'connection' },
  { code: 'HKW_ERR_REQUEST_TIMEOUT', when: 'the request did not arrive completely in time', on: 'connection' },
  { code: 'HKW_ERR_HEADERS_TOO_LARGE', when: 'the request headers are larger than Node accepts', on: 'connection' },
  { code: 'HKW_ERR_NOT_FOUND', when: 'no such route (or method); a plugin route that does not exist', on: 'connection' },
  { code: 'HKW_ERR_UNAUTHENTICATED', when: 'no or a malformed `Authorization: Bearer` header, or an unknown token', on: 'guarded' },
  { code: 'HKW_ERR_FORBIDDEN', when: "the token's role is below the one the endpoint needs", on: 'guarded' },
  { code: 'HKW_ERR_CSRF', when: 'a state-changing request made with the console session cookie lacks the session\'s `X-CSRF-Token`', on: 'guarded' },
  { code: 'HKW_ERR_UNAUTHENTICATED', when: 'sign-in with a token the config does not know; no live console session', on: ['POST /v1/session', 'GET /v1/session'] },
  { code: 'HKW_ERR_CSRF', when: "signing out without the session's `X-CSRF-Token`", on: ['DELETE /v1/session'] },
  { code: 'HKW_ERR_UI_NOT_BUILT', when: 'the console is on but `dist/ui/index.html` is missing (run `npm run build`)', on: ['GET /ui/', 'GET /ui/*'] },
  { code: 'HKW_ERR_UNKNOWN_EVENT', when: 'the event id is not in the catalogue', on: ['POST /v1/events'] },
  { code: 'HKW_ERR_INVALID_EVENT_DATA', when: "the event's data does not match its `data_schema`", on: ['POST /v1/events'] },
  { code: 'HKW_ERR_UNKNOWN_HOOK_POINT', when: 'an undeclared gate or change point', on: ['POST /v1/gates/:name', 'POST /v1/changes/:name', ...ACTIONS] },
  { code: 'HKW_ERR_UNKNOWN_ACTION', when: 'an undeclared action', on: ACTIONS },
  { code: 'HKW_ERR_ACTION_LIMIT', when: '`actions.auto_declare_max` reached', on: ACTIONS },
  { code: 'HKW_ERR_PERMISSION_DENIED', when: 'the pre gate denied', on: ['POST /v1/actions/:name/pre'] },
  { code: 'HKW_ERR_ACTION_HOOK_FAILED', when: 'a synchronous post hook failed (the host should undo the operation)', on: ['POST /v1/actions/:name/post'] },
  { code: 'HKW_ERR_CALLBACK_UNKNOWN', when: 'no callback has that token', on: ['POST /v1/callbacks/:token'] },
  { code: 'HKW_ERR_CALLBACK_USED', when: 'the callback token was used already', on: ['POST /v1/callbacks/:token'] },
  { code: 'HKW_ERR_CALLBACK_EXPIRED', when: 'the callback token expired', on: ['POST /v1/callbacks/:token'] },
  { code: 'HKW_ERR_CONFIG_INVALID', when: 'the config read again was refused; `problems` lists every problem and nothing changed', on: ['POST /v1/config/reload'] },
  { code: 'HKW_ERR_CONFIG_DRAFT_INVALID', when: 'the draft does not load, or the reload refused it (the file was restored); `problems` lists every problem', on: ['POST /v1/config/apply'] },
  { code: 'HKW_ERR_CONFIG_NOT_WRITABLE', when: 'the config did not come from one YAML or JSON file', on: ['POST /v1/config/apply'] },
  { code: 'HKW_ERR_DELIVERY_NOT_FOUND', when: 'no delivery has that id', on: ['GET /v1/deliveries/:id', 'POST /v1/deliveries/:id/retry'] },
  { code: 'HKW_ERR_DELIVERY_INFLIGHT', when: 'the delivery is being attempted right now', on: ['POST /v1/deliveries/:id/retry'] },
  { code: 'HKW_ERR_INVALID_ARGUMENT', when: 'a `since` or `until` that is not a time, or a `cursor` this API did not give', on: ['POST /v1/deliveries/replay', 'GET /v1/deliveries', 'GET /v1/deliveries/counts'] },
  { code: 'HKW_ERR_TARGET_NOT_FOUND', when: 'no target has that name', on: ['POST /v1/deliveries/targets/:name/enable', 'POST /v1/deliveries/targets/:name/disable'] },
  { code: 'HKW_ERR_PLUGIN_NOT_FOUND', when: 'no plugin has that name', on: PLUGIN_ACTIONS },
  { code: 'HKW_ERR_PLUGIN_INVALID', when: "the plugin's module is not a valid plugin", on: PLUGIN_ACTIONS },
  { code: 'HKW_ERR_PLUGIN_DEPENDENCY', when: "the plugin's dependencies are missing or form a cycle", on: PLUGIN_ACTIONS },
  { code: 'HKW_ERR_PLUGIN_START_FAILED', when: "the plugin's start failed (everything it registered was removed)", on: PLUGIN_ACTIONS },
  { code: 'HKW_ERR_TIMEOUT', when: "the plugin's start did not finish within `plugins.start_timeout`", on: PLUGIN_ACTIONS },
  { code: 'HKW_ERR_HANDLER_NOT_FOUND', when: 'no extension handler has that name or uuid', on: HANDLER_ACTIONS },
  { code: 'HKW_ERR_INTERNAL', when: "an unexpected failure; the message is generic and the details are in the gateway's log", on: 'every' },
  { code: 'HKW_ERR_CLOSED', when: 'the host is shutting down', on: 'every' },
  { code: 'HKW_ERR_DELIVERY_STORE', when: 'the delivery store cannot serve now; `Retry-After` says when to send again', on: ['POST /v1/events', ...DELIVERY_ADMIN] },
];

export const GATEWAY_ERRORS: readonly GatewayErrorCode[] = ANSWERED.map((e) => ({ ...e, status: ERROR_CODES[e.code].status }));

/** Every code the gateway answers with, in the list's order, each once. */
export const GATEWAY_ERROR_CODES: readonly string[] = [...new Set(GATEWAY_ERRORS.map((e) => e.code))];
