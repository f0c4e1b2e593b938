// The config of e-mail handlers (`type: email`): the SMTP server and how to
// reach it, the templated message, attachments and the folders they may
// come from. Static addresses are checked here; templated ones after
// rendering (src/email/target.ts).

import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { outboundShape } from '../handlers/config-schema.js';
import { addressProblem } from './address.js';

const PLACEHOLDER = /\{\{[^}]*\}\}/;
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, _)');

/** One address template: checked now when it has no placeholder. */
const addressTemplate = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((text, ctx) => {
    if (PLACEHOLDER.test(text)) return;
    const problem = addressProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** One address or a list; a templated entry may render to a list (`{{data.recipients}}`). */
const addressList = z.union([addressTemplate, z.array(addressTemplate)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const smtpSchema = z
  .strictObject({
    host: z.string().min(1),
    /** Default 465 with `secure`, else 587. */
    port: z.number().int().min(1).max(65535).optional(),
    /** TLS from the first byte (SMTPS, usually port 465). */
    secure: z.boolean().default(false),
    /**
     * Without `secure`: `require` (default) refuses to send unless the server
     * upgrades the connection with STARTTLS; `opportunistic` upgrades when
     * offered; `never` stays in plain text (a local relay only).
     */
    starttls: z.enum(['require', 'opportunistic', 'never']).default('require'),
    auth: z
      .strictObject({
        user: z.string().min(1),
        /** The environment variable holding the password: the password itself is never in the config. */
        password_env: envName,
      })
      .optional(),
    /** A PEM file of certificate authorities to trust besides the system's (a private relay). */
    ca_file: z.string().min(1).optional(),
    /** Connections the pool keeps open at most. */
    max_connections: z.number().int().positive().default(5),
  })
  .superRefine((smtp, ctx) => {
    if (smtp.secure && smtp.starttls === 'never') ctx.addIssue({ code: 'custom', path: ['starttls'], message: '"secure: true" is TLS already; drop "starttls: never"' });
  });

export const attachmentSchema = z.strictObject({
  /** Template of the file's path (`{{data.path}}`), absolute after rendering. */
  path: z.string().min(1),
  /** Largest file accepted, bytes (a larger one fails the attempt). */
  max_bytes: z.number().int().positive().default(10 * 1024 * 1024),
  /** Name shown to the recipient (template); default the file's base name. */
  filename: z.string().min(1).optional(),
});

export const emailHandlerSchema = z
  .strictObject({
    type: z.literal('email'),
    ...outboundShape,
    smtp: smtpSchema,
    from: addressTemplate,
    to: addressList,
    cc: addressList.optional(),
    bcc: addressList.optional(),
    subject: z.string().default('{{message}}'),
    text: z.string().optional(),
    html: z.string().optional(),
    attachments: z.array(attachmentSchema).default([]),
    /** Folders attachments may come from (symlinks resolved first); none means no attachment is accepted. */
    attachments_from: z
      .array(z.string().min(1).refine((p) => isAbsolute(p), { message: 'must be an absolute path' }))
      .default([]),
    /** Seconds per SMTP exchange (connect, greeting, each reply). */
    timeout: z.number().positive().default(30),
    concurrency: z.number().int().positive().default(2),
  })
  .superRefine((handler, ctx) => {
    if (handler.text === undefined && handler.html === undefined) ctx.addIssue({ code: 'custom', path: ['text'], message: 'give a "text" or an "html" body (or both)' });
    if (handler.attachments.length > 0 && handler.attachments_from.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['attachments_from'], message: 'attachments need "attachments_from": the folders their files may come from' });
    }
  });

export type EmailHandlerConfig = z.output<typeof emailHandlerSchema>;
export type SmtpConfig = z.output<typeof smtpSchema>;
