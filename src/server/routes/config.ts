// The config over the gateway. GET /v1/config (viewer): the effective config
// with every secret redacted, where each value came from, and the file's
// text redacted. POST /v1/config/validate (superuser): every problem of a
// draft of that file, with its key. POST /v1/config/apply (superuser): the
// draft validated, written over the file (the previous kept as .bak) and
// reloaded, the file restored if the reload refuses it. POST
// /v1/config/reload (superuser): reads the config files again and applies
// them without a restart, on this node and then on every other node. A
// config that is refused changes nothing and answers with every problem.
// "[redacted]" in a draft, where the file has a secret, keeps that secret.

import { z } from 'zod';
import { applyDraft, configView, editableFile, validateDraft } from '../../config/config-view.js';
import { ConfigDraftError, ConfigError } from '../../errors.js';
import type { ReloadReport } from '../../runtime/reload.js';
import type { RouteModule } from '../route-module.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { configApplyReply, configReply, configValidateReply, reloadReply } from './reply-schemas.js';

const draftBody = z.strictObject({
  /** The whole file's new text (what GET /v1/config's `text` was, edited). */
  text: z.string().max(1_000_000),
  /** Must match the file's own format when given. */
  format: z.enum(['yaml', 'json']).optional(),
});

export const configRoutes: RouteModule = (app, { runtime, auth }) => {
  const superuser = auth.require('superuser');
  const reload = (): Promise<ReloadReport> => {
    const control = runtime.services.control;
    return control === undefined ? runtime.reload() : control.reloadConfig();
  };

  const schema = { summary: 'Read the config files again and apply them, on every node', tags: ['admin'], response: { 200: reloadReply } };
  app.post('/v1/config/reload', { onRequest: superuser, schema }, async (_request, reply) => reply.send({ reload: await reload() }));

  app.get(
    '/v1/config',
    {
      onRequest: auth.require('viewer'),
      schema: { summary: 'The effective config (secrets redacted), where each value came from, and the file text', tags: ['admin'], response: { 200: configReply } },
    },
    async () => configView(runtime.config, runtime.configFile),
  );

  app.post<{ Body: z.output<typeof draftBody> }>(
    '/v1/config/validate',
    {
      onRequest: superuser,
      validatorCompiler: zodValidatorCompiler,
      schema: { summary: 'Every problem of a draft of the config file, with its key', tags: ['admin'], body: draftBody, response: { 200: configValidateReply } },
    },
    async (request) => {
      const file = await editableFile(runtime.configFile);
      const problems = await validateDraft(file, request.body.text, runtime.configFile?.env);
      return { valid: problems.length === 0, problems: problems.map(shownProblem) };
    },
  );

  app.post<{ Body: z.output<typeof draftBody> }>(
    '/v1/config/apply',
    {
      onRequest: superuser,
      validatorCompiler: zodValidatorCompiler,
      schema: {
        summary: 'Validate a draft of the config file, write it (keeping <file>.bak) and reload; restored if the reload refuses it',
        tags: ['admin'],
        body: draftBody,
        response: { 200: configApplyReply },
      },
    },
    async (request) => {
      const file = await editableFile(runtime.configFile);
      try {
        const report = await applyDraft(file, request.body.text, runtime.configFile?.env, reload);
        return { applied: true, file, backup: `${file}.bak`, reload: report };
      } catch (err) {
        // A reload that refused the written file: the file is back as it was; the problems are the draft's.
        if (err instanceof ConfigError) throw new ConfigDraftError(err.problems);
        throw err;
      }
    },
  );
};

function shownProblem(p: { file?: string; key: string; message: string }): { key: string; message: string; file?: string } {
  return { key: p.key, message: p.message, ...(p.file === undefined ? {} : { file: p.file }) };
}
