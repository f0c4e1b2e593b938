// `hookwork/email`: an e-mail target and its pooled SMTP transport, for
// sending messages yourself (docs/email.md). Re-exports only.

export { EmailTarget } from '../email/target.js';
export type { EmailAttachmentOptions, EmailTargetOptions } from '../email/target.js';
export { smtpTransport } from '../email/transport.js';
export type { MailAttachment, MailMessage, MailTransport, SmtpTransportOptions } from '../email/transport.js';
export { addressProblem } from '../email/address.js';
