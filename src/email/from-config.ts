// An e-mail handler of the config as the EmailTarget that sends it, with the
// SMTP pool it owns (closed when the handler's config generation goes).

import type { TemplateExtras } from '../handlers/target.js';
import type { EmailHandlerConfig } from './config-schema.js';
import { EmailTarget } from './target.js';
import { smtpTransport, type MailTransport } from './transport.js';

export interface EmailTargetContext {
  /** The target's name (`handler:<name>`). */
  readonly name: string;
  /** Where the handler is in the config (`handlers.3`), for problems. */
  readonly where: string;
  readonly resolvePath: (path: string) => string;
  readonly extras: TemplateExtras;
  /** Where `smtp.auth.password_env` is read. */
  readonly env: NodeJS.ProcessEnv;
}

export function emailTargetFromConfig(handler: EmailHandlerConfig, context: EmailTargetContext): { target: EmailTarget; transport: MailTransport } {
  const transport = smtpTransport(handler.smtp, {
    where: context.where,
    timeoutMs: handler.timeout * 1000,
    env: context.env,
    resolvePath: context.resolvePath,
  });
  const target = new EmailTarget(
    {
      name: context.name,
      from: handler.from,
      to: handler.to,
      ...(handler.cc === undefined ? {} : { cc: handler.cc }),
      ...(handler.bcc === undefined ? {} : { bcc: handler.bcc }),
      subject: handler.subject,
      ...(handler.text === undefined ? {} : { text: handler.text }),
      ...(handler.html === undefined ? {} : { html: handler.html }),
      attachments: handler.attachments.map((a) => ({ path: a.path, maxBytes: a.max_bytes, ...(a.filename === undefined ? {} : { filename: a.filename }) })),
      attachmentsFrom: handler.attachments_from,
      grants: handler.grants,
      concurrency: handler.concurrency,
      extras: context.extras,
    },
    transport,
  );
  return { target, transport };
}
