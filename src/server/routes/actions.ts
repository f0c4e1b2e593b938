// POST /v1/actions/:name/pre and /v1/actions/:name/post: SFTPGo-style
// actions for hosts that reach Hookwork over HTTP. `pre` runs the
// `pre-<name>` gate: 200 {verdict: allow|handled}, or 403 with the
// permission-denied error; `post` reports the operation's outcome, emits the
// `<name>` event and, for execute_sync actions, runs the post hooks before
// answering (a failure is 502: the host should undo the operation). Only
// declared actions: an undeclared name is a 404 unless actions.auto_declare.

import { z } from 'zod';
import { ActionAutoDeclareLimitError, ActionHookFailedError, PermissionDeniedError, UnknownActionError } from '../../errors.js';
import { Actions } from '../../actions/actions.js';
import type { RouteModule } from '../route-module.js';
import { requireJson } from '../json-only.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { actionPostReply, actionPreReply } from './reply-schemas.js';

const paramsSchema = z.strictObject({ name: z.string().min(1).max(200).regex(/^[^/]+$/) });

const peerSchema = z.strictObject({
  address: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  protocol: z.string().optional(),
  family: z.string().optional(),
});

const accountSchema = z.strictObject({
  uuid: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  groups: z.array(z.string()).optional(),
  role: z.string().optional(),
  peer: peerSchema.optional(),
});

const componentSchema = z.strictObject({ uuid: z.string().optional(), name: z.string().optional(), type: z.string().optional() });

const preSchema = z
  .strictObject({
    data: z.record(z.string(), z.unknown()).optional(),
    account: accountSchema.optional(),
    component: componentSchema.optional(),
  })
  .default({});

const postSchema = z
  .strictObject({
    data: z.record(z.string(), z.unknown()).optional(),
    account: accountSchema.optional(),
    component: componentSchema.optional(),
    /** ok, error, quota_exceeded, or SFTPGo's 1, 0, 2. */
    status: z.union([z.enum(['ok', 'error', 'quota_exceeded']), z.literal(0), z.literal(1), z.literal(2)]).optional(),
    elapsed_ms: z.number().nonnegative().optional(),
    error: z.string().optional(),
  })
  .default({});

type PreBody = z.output<typeof preSchema>;
type PostBody = z.output<typeof postSchema>;
type Params = z.output<typeof paramsSchema>;

function clean<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export const actionRoutes: RouteModule = (app, { runtime, auth }) => {
  const actions = (): Actions => runtime.services.actions ?? new Actions({ host: runtime.host, router: undefined });
  const guard = [auth.require('operator', { hostFacing: true }), requireJson];

  // Callers may only use declared actions: declaring one adds a catalogue
  // event and a pre-gate, so made-up names would grow the catalogue without
  // bound and make their ids emittable although strict mode is on. The
  // operator may let the gateway declare them, up to a cap.
  const autoDeclared = new Set<string>();
  let names: { version: number; set: ReadonlySet<string> } = { version: -1, set: new Set() };
  const isDeclared = (name: string): boolean => {
    const { actions: config } = runtime.config;
    if (Object.hasOwn(config.options, name) || config.execute_sync.includes(name)) return true;
    if (runtime.host.gates.has(`pre-${name}`)) return true;
    const catalogue = runtime.host.catalogue;
    if (names.version !== catalogue.version) {
      names = { version: catalogue.version, set: new Set(catalogue.list().flatMap((e) => [e.id, e.name])) };
    }
    return names.set.has(name);
  };
  const requireDeclared = (name: string): void => {
    if (isDeclared(name) || autoDeclared.has(name)) return;
    const { auto_declare: auto, auto_declare_max: max } = runtime.config.actions;
    if (!auto) throw new UnknownActionError(name);
    if (autoDeclared.size >= max) throw new ActionAutoDeclareLimitError(name, max);
    autoDeclared.add(name);
  };

  app.post<{ Params: Params; Body: PreBody }>(
    '/v1/actions/:name/pre',
    {
      schema: { summary: 'Run the pre-<name> gate of an action', tags: ['host'], params: paramsSchema, body: preSchema, response: { 200: actionPreReply } },
      validatorCompiler: zodValidatorCompiler, onRequest: guard },
    async (request) => {
      requireDeclared(request.params.name);
      const body = request.body ?? {};
      const decision = await actions().pre(request.params.name, clean(body) as never);
      if (decision.verdict === 'deny') {
        throw new PermissionDeniedError(decision.reason ?? `The action "${request.params.name}" was denied.`);
      }
      return clean({ verdict: decision.verdict, reason: decision.reason, by: decision.by });
    },
  );

  app.post<{ Params: Params; Body: PostBody }>(
    '/v1/actions/:name/post',
    {
      schema: { summary: "Report an action's outcome: emit its event, run its post hooks", tags: ['host'], params: paramsSchema, body: postSchema, response: { 200: actionPostReply } },
      validatorCompiler: zodValidatorCompiler, onRequest: guard },
    async (request) => {
      requireDeclared(request.params.name);
      const body = request.body ?? {};
      const result = await actions().post(
        request.params.name,
        clean({
          data: body.data,
          account: body.account,
          component: body.component,
          status: body.status,
          elapsedMs: body.elapsed_ms,
          error: body.error,
        }) as never,
      );
      if (result.failures.length > 0) throw new ActionHookFailedError(request.params.name, result.failures);
      return { ok: true, event: { id: result.event.id, uuid: result.event.uuid } };
    },
  );
};
