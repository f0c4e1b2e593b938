// The SMTP side of e-mail handlers: one pooled nodemailer transport per
// handler (its connections are reused across messages), the password read
// from the environment variable the config names. The password is handed to
// nodemailer only; it is in no config, log line, error or attempt record.

import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import { ConfigError } from '../errors.js';
import type { SmtpConfig } from './config-schema.js';

export interface MailAttachment {
  readonly filename: string;
  readonly content: Buffer;
}

/** A message with every field rendered and checked. */
export interface MailMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
  readonly attachments: readonly MailAttachment[];
  /** Stable across retries of one delivery, so a receiver can tell a repeat. */
  readonly messageId: string;
}

/** Where messages go: the SMTP pool, or a test double. Resolves with the server's final reply (code and text). */
export interface MailTransport {
  /** `host:port`, for messages. */
  readonly address: string;
  send(message: MailMessage): Promise<string>;
  close(): void;
}

export interface SmtpTransportOptions {
  /** Where the handler is in the config, for problems. */
  readonly where: string;
  readonly timeoutMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves `ca_file` (relative to the config's folder). */
  readonly resolvePath: (path: string) => string;
}

/** A pooled SMTP transport for one handler; throws ConfigError when its password variable or CA file is missing. */
export function smtpTransport(smtp: SmtpConfig, options: SmtpTransportOptions): MailTransport {
  let pass: string | undefined;
  if (smtp.auth !== undefined) {
    pass = options.env[smtp.auth.password_env];
    if (pass === undefined || pass === '') {
      throw new ConfigError([{ key: `${options.where}.smtp.auth.password_env`, message: `the environment variable ${smtp.auth.password_env} is not set; set it to the SMTP password of "${smtp.auth.user}"` }]);
    }
  }
  let ca: string | undefined;
  if (smtp.ca_file !== undefined) {
    try {
      ca = readFileSync(options.resolvePath(smtp.ca_file), 'utf8');
    } catch (err) {
      throw new ConfigError([{ key: `${options.where}.smtp.ca_file`, message: `cannot read ${smtp.ca_file}: ${(err as Error).message}` }]);
    }
  }
  const port = smtp.port ?? (smtp.secure ? 465 : 587);
  const mailer = createTransport({
    pool: true,
    host: smtp.host,
    port,
    secure: smtp.secure,
    requireTLS: !smtp.secure && smtp.starttls === 'require',
    ignoreTLS: !smtp.secure && smtp.starttls === 'never',
    maxConnections: smtp.max_connections,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    ...(smtp.auth === undefined ? {} : { auth: { user: smtp.auth.user, pass } }),
    ...(ca === undefined ? {} : { tls: { ca } }),
    logger: false,
    debug: false,
  });
  return {
    address: `${smtp.host}:${port}`,
    async send(message) {
      const info = await mailer.sendMail({
        from: message.from,
        to: [...message.to],
        ...(message.cc.length === 0 ? {} : { cc: [...message.cc] }),
        ...(message.bcc.length === 0 ? {} : { bcc: [...message.bcc] }),
        subject: message.subject,
        ...(message.text === undefined ? {} : { text: message.text }),
        ...(message.html === undefined ? {} : { html: message.html }),
        attachments: message.attachments.map((a) => ({ filename: a.filename, content: a.content })),
        messageId: message.messageId,
        // Addresses were checked already; nodemailer must not reinterpret a display name.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      return String(info.response);
    },
    close() {
      mailer.close();
    },
  };
}
