// A real SMTP server on 127.0.0.1 for the e-mail tests (smtp-server), with
// what arrived parsed by mailparser. `reply` decides each message's answer:
// nothing (250), or an error carrying an SMTP code (4xx, 5xx).

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { waitFor } from './wait-for.js';

export const TLS_DIR = resolve(import.meta.dirname, '../fixtures/tls');
export const CA_FILE = resolve(TLS_DIR, 'cert.pem');

export interface Received {
  readonly mail: ParsedMail;
  /** The raw message as it arrived (headers and body). */
  readonly raw: string;
  readonly envelopeTo: readonly string[];
  readonly user: string | undefined;
  readonly secure: boolean;
}

export interface SmtpOptions {
  /** TLS from the first byte (SMTPS). */
  readonly secure?: boolean;
  /** Offer STARTTLS (default true). */
  readonly starttls?: boolean;
  /** Require AUTH with this user and password. */
  readonly auth?: { readonly user: string; readonly password: string };
  /** Decides each message's reply: undefined accepts it; a code refuses it. */
  readonly reply?: (index: number) => { code: number; text: string } | undefined;
}

export interface SmtpServer {
  readonly port: number;
  readonly received: Received[];
  /** Messages refused so far (replies with a code). */
  readonly refused: number;
  waitFor(count: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startSmtp(options: SmtpOptions = {}): Promise<SmtpServer> {
  const received: Received[] = [];
  let seen = 0;
  let refused = 0;
  const serverOptions: SMTPServerOptions = {
    secure: options.secure ?? false,
    key: readFileSync(resolve(TLS_DIR, 'key.pem')),
    cert: readFileSync(resolve(TLS_DIR, 'cert.pem')),
    authOptional: options.auth === undefined,
    disabledCommands: [...(options.auth === undefined ? ['AUTH'] : []), ...(options.starttls === false ? ['STARTTLS'] : [])],
    logger: false,
    // Tests end with the client's pooled connection open: do not wait 30 s for it.
    closeTimeout: 200,
    onAuth(auth, _session, callback) {
      if (options.auth !== undefined && auth.username === options.auth.user && auth.password === options.auth.password) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const index = seen++;
        const answer = options.reply?.(index);
        if (answer !== undefined) {
          refused++;
          callback(Object.assign(new Error(answer.text), { responseCode: answer.code }));
          return;
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw, (err, mail) => {
          if (err !== null && err !== undefined) return callback(err as Error);
          received.push({
            mail,
            raw: raw.toString('utf8'),
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            user: typeof session.user === 'string' ? session.user : undefined,
            secure: session.secure,
          });
          callback();
        });
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  await new Promise<void>((ok, fail) => {
    server.server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    get refused() {
      return refused;
    },
    async waitFor(count) {
      await waitFor(() => received.length >= count, { what: `${count} e-mail(s) at the SMTP server` });
      return received;
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
