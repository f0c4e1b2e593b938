// An e-mail target: renders the message from the handler's templates, checks
// every rendered address and the subject (a CR or LF is refused: the attempt
// fails for good, so no event value can add a header), reads the
// attachments (confined, size-capped), sends through the pooled SMTP
// transport and tells the delivery queue what the reply means: 2xx done,
// 4xx and connection errors retry, 5xx fail for good.

import { compileStringTemplate, compileTemplate, type Template } from '../events/template.js';
import type { LookupOptions } from '../events/context.js';
import { toError } from '../errors.js';
import type { AttemptContext, DeliveryRecord } from '../delivery/types.js';
import { headBytes, type EventRecord, type OutboundTarget, type RunResult, type TemplateExtras } from '../handlers/target.js';
import { addressProblem, LINE_BREAK } from './address.js';
import { readAttachment } from './attachments.js';
import type { MailAttachment, MailTransport } from './transport.js';

export interface EmailAttachmentOptions {
  /** Path template. */
  readonly path: string;
  readonly maxBytes: number;
  /** Name template (default: the file's base name). */
  readonly filename?: string;
}

export interface EmailTargetOptions {
  /** Unique target name (`handler:<name>`). */
  name: string;
  from: string;
  to: readonly string[];
  cc?: readonly string[];
  bcc?: readonly string[];
  subject: string;
  text?: string;
  html?: string;
  attachments?: readonly EmailAttachmentOptions[];
  /** Folders attachments may come from. */
  attachmentsFrom?: readonly string[];
  grants?: readonly string[];
  concurrency?: number;
  extras?: TemplateExtras;
}

/** A rendering that cannot become a message: the same event fails the same way on every retry. */
class Unsendable extends Error {}

/** Node's reply text, or undefined (nodemailer sets `responseCode` and `response` on SMTP errors). */
interface SmtpError {
  readonly responseCode?: number;
  readonly response?: string;
  readonly code?: string;
}

export class EmailTarget implements OutboundTarget {
  readonly kind = 'email' as const;
  readonly name: string;
  readonly concurrency: number;
  readonly grants: ReadonlySet<string>;
  readonly #from: Template<unknown>;
  readonly #to: readonly Template<unknown>[];
  readonly #cc: readonly Template<unknown>[];
  readonly #bcc: readonly Template<unknown>[];
  readonly #subject: Template<string>;
  readonly #text: Template<string> | undefined;
  readonly #html: Template<string> | undefined;
  readonly #attachments: ReadonlyArray<{ path: Template<string>; filename: Template<string> | undefined; maxBytes: number }>;
  readonly #folders: readonly string[];
  readonly #extras: TemplateExtras | undefined;
  readonly #lookup: LookupOptions;
  readonly #transport: MailTransport;

  constructor(options: EmailTargetOptions, transport: MailTransport) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? 2;
    this.grants = new Set((options.grants ?? []).map((g) => g.toLowerCase()));
    this.#from = compileTemplate(options.from);
    this.#to = options.to.map((t) => compileTemplate(t));
    this.#cc = (options.cc ?? []).map((t) => compileTemplate(t));
    this.#bcc = (options.bcc ?? []).map((t) => compileTemplate(t));
    this.#subject = compileStringTemplate(options.subject);
    this.#text = options.text === undefined ? undefined : compileStringTemplate(options.text);
    this.#html = options.html === undefined ? undefined : compileStringTemplate(options.html);
    this.#attachments = (options.attachments ?? []).map((a) => ({
      path: compileStringTemplate(a.path),
      filename: a.filename === undefined ? undefined : compileStringTemplate(a.filename),
      maxBytes: a.maxBytes,
    }));
    this.#folders = options.attachmentsFrom ?? [];
    this.#extras = options.extras;
    this.#lookup = { grants: this.grants };
    this.#transport = transport;
  }

  attempt(delivery: DeliveryRecord, context: AttemptContext): Promise<RunResult> {
    return this.run(delivery.event, context);
  }

  async run(event: EventRecord, context: AttemptContext): Promise<RunResult> {
    const started = performance.now();
    const roots: unknown[] = this.#extras === undefined ? [event] : [this.#extras(event, context), event];
    let message;
    try {
      message = {
        from: this.#addresses('from', [this.#from], roots, 1)[0] as string,
        to: this.#addresses('to', this.#to, roots),
        cc: this.#addresses('cc', this.#cc, roots),
        bcc: this.#addresses('bcc', this.#bcc, roots),
        subject: this.#subjectOf(roots),
        ...(this.#text === undefined ? {} : { text: this.#text.render(roots, this.#lookup) }),
        ...(this.#html === undefined ? {} : { html: this.#html.render(roots, this.#lookup) }),
        attachments: await this.#readAttachments(roots),
        // Derived from the delivery's id: a retry that reaches the mailbox twice is recognisable.
        messageId: `<${context.webhookId}@hookwork>`,
      };
    } catch (err) {
      if (!(err instanceof Unsendable)) throw err;
      return { ok: false, retryable: false, error: `E-mail "${this.name}": ${err.message}.`, durationMs: performance.now() - started };
    }
    try {
      const reply = await this.#transport.send(message);
      return { ok: true, response: headBytes(reply), durationMs: performance.now() - started };
    } catch (err) {
      return { ...this.#classify(err), durationMs: performance.now() - started };
    }
  }

  /** The rendered addresses of one field, each checked; a templated entry may render to a list. */
  #addresses(field: string, templates: readonly Template<unknown>[], roots: readonly unknown[], max = Infinity): string[] {
    const out: string[] = [];
    for (const template of templates) {
      const value = template.render(roots, this.#lookup);
      const list = Array.isArray(value) ? value : [value];
      for (const item of list) {
        if (typeof item !== 'string') throw new Unsendable(`"${field}" rendered to ${JSON.stringify(item)}, not an address (check its template)`);
        const problem = addressProblem(item);
        if (problem !== undefined) throw new Unsendable(`the rendered "${field}" is refused: ${problem}`);
        out.push(item.trim());
      }
    }
    if (out.length > max) throw new Unsendable(`"${field}" rendered to ${out.length} addresses; it takes one`);
    if (field === 'to' && out.length === 0) throw new Unsendable('"to" rendered to no address');
    return out;
  }

  #subjectOf(roots: readonly unknown[]): string {
    const subject = this.#subject.render(roots, this.#lookup);
    // Refused, not stripped: a subject that changed meaning silently is worse than a visible failure.
    if (LINE_BREAK.test(subject)) throw new Unsendable(`the rendered subject ${JSON.stringify(subject)} contains a line break (CR or LF), which could add a header; it was not sent`);
    return subject;
  }

  async #readAttachments(roots: readonly unknown[]): Promise<MailAttachment[]> {
    const out: MailAttachment[] = [];
    for (const a of this.#attachments) {
      const read = await readAttachment(a.path.render(roots, this.#lookup), this.#folders, a.maxBytes);
      if (!read.ok) throw new Unsendable(read.problem);
      const filename = a.filename === undefined ? read.filename : a.filename.render(roots, this.#lookup);
      if (LINE_BREAK.test(filename)) throw new Unsendable(`the rendered attachment name ${JSON.stringify(filename)} contains a line break`);
      out.push({ filename, content: read.content });
    }
    return out;
  }

  #classify(err: unknown): RunResult {
    const smtp = err as SmtpError;
    const code = typeof smtp?.responseCode === 'number' ? smtp.responseCode : undefined;
    const reply = typeof smtp?.response === 'string' ? headBytes(smtp.response) : undefined;
    const where = `E-mail "${this.name}": ${this.#transport.address}`;
    if (code === undefined) {
      // No reply at all (refused, reset, timed out, TLS failed): the server may be back later.
      const error = toError(err);
      return { ok: false, retryable: true, error: `${where} could not be reached: ${error.message}${smtp?.code === undefined ? '' : ` (${smtp.code})`}` };
    }
    const retryable = code >= 400 && code < 500;
    return {
      ok: false,
      retryable,
      ...(reply === undefined ? {} : { response: reply }),
      error: `${where} answered ${reply ?? code}${retryable ? '' : '; a 5xx reply is final, the message was not sent'}`,
    };
  }
}
