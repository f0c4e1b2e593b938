// E-mail handlers against a real SMTP server on 127.0.0.1 (smtp-server),
// through the runtime and its durable delivery queue.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { validateConfigSources } from '../../src/config/load.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { createGateway } from '../../src/server/gateway.js';
import { testRuntime } from '../helpers/runtime.js';
import { CA_FILE, startSmtp, type SmtpOptions, type SmtpServer } from '../helpers/smtp.js';
import { waitFor } from '../helpers/wait-for.js';

const PASSWORD = 'pw-Zq81-never-shown';
const TOKEN = 'admin-token-0123456789abcdef';
process.env['HKW_TEST_SMTP_PASSWORD'] = PASSWORD;

async function smtp(t: TestContext, options: SmtpOptions = {}): Promise<SmtpServer> {
  const server = await startSmtp(options);
  t.after(() => server.close());
  return server;
}

/** An e-mail handler for `upload` events, STARTTLS required and the test CA trusted. */
function emailHandler(server: SmtpServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'email',
    name: 'mail',
    actions: ['upload'],
    smtp: { host: '127.0.0.1', port: server.port, starttls: 'require', ca_file: CA_FILE },
    from: 'Hookwork <hookwork@example.com>',
    to: ['ops@example.com', '{{data.owner}}'],
    cc: 'audit@example.com',
    bcc: 'hidden@example.com',
    subject: 'Upload by {{account.name}}: {{data.path}}',
    text: 'File {{data.path}} ({{data.size}} bytes)',
    html: '<p>File <b>{{data.path}}</b></p>',
    ...extra,
  };
}

const FAST_RETRIES = { retry_schedule: [0, 0.05, 0.05], jitter: 0 };

function config(handler: Record<string, unknown>, delivery: Record<string, unknown> = {}): HookworkConfigInput {
  return { events: [{ id: '100', name: 'upload' }], handlers: [handler], delivery: delivery } as HookworkConfigInput;
}

async function onlyDelivery(runtime: Runtime, state: DeliveryRecord['state']): Promise<DeliveryRecord> {
  const queue = runtime.services.delivery!;
  let found: DeliveryRecord | undefined;
  await waitFor(async () => {
    const list = await queue.list({ target: 'handler:mail' });
    found = list.find((d) => d.state === state);
    return found !== undefined;
  }, { what: `a ${state} delivery` });
  return found as DeliveryRecord;
}

test('e-mail: the rendered message arrives over STARTTLS with auth from an env var (to, cc, bcc, subject, text, html)', async (t) => {
  const server = await smtp(t, { auth: { user: 'mailer', password: PASSWORD } });
  const runtime = await testRuntime(t, config(emailHandler(server, { smtp: { host: '127.0.0.1', port: server.port, starttls: 'require', ca_file: CA_FILE, auth: { user: 'mailer', password_env: 'HKW_TEST_SMTP_PASSWORD' } } })));
  await runtime.host.emit('100', { account: { name: 'alice' }, data: { path: '/in/a.csv', size: 42, owner: 'Alice <alice@example.com>' } });
  const [got] = await server.waitFor(1);
  assert.ok(got !== undefined);
  assert.equal(got.secure, true, 'upgraded with STARTTLS');
  assert.equal(got.user, 'mailer');
  assert.equal(got.mail.subject, 'Upload by alice: /in/a.csv');
  assert.equal(got.mail.from?.text, '"Hookwork" <hookwork@example.com>');
  const to = Array.isArray(got.mail.to) ? got.mail.to : [got.mail.to];
  assert.deepEqual(to.flatMap((a) => a?.value.map((v) => v.address)), ['ops@example.com', 'alice@example.com']);
  const cc = Array.isArray(got.mail.cc) ? got.mail.cc : [got.mail.cc];
  assert.deepEqual(cc.flatMap((a) => a?.value.map((v) => v.address)), ['audit@example.com']);
  assert.ok(got.envelopeTo.includes('hidden@example.com'), 'bcc is a recipient');
  assert.ok(!/hidden@example\.com/.test(got.raw), 'bcc is not a header');
  assert.equal(got.mail.text?.trim(), 'File /in/a.csv (42 bytes)');
  assert.equal(got.mail.html, '<p>File <b>/in/a.csv</b></p>');
  const done = await onlyDelivery(runtime, 'done');
  const detail = await runtime.services.delivery!.get(done.id);
  assert.match(detail.attempts[0]?.response ?? '', /^250 /, 'the SMTP reply is the attempt response');
  assert.equal(got.mail.messageId, `<${done.webhookId}@hookwork>`);
});

test('e-mail: TLS from the first byte (smtp.secure)', async (t) => {
  const server = await smtp(t, { secure: true });
  const runtime = await testRuntime(t, config(emailHandler(server, { smtp: { host: '127.0.0.1', port: server.port, secure: true, ca_file: CA_FILE } })));
  await runtime.host.emit('100', { account: { name: 'bob' }, data: { path: '/b', size: 1, owner: 'bob@example.com' } });
  const [got] = await server.waitFor(1);
  assert.equal(got?.secure, true);
  assert.equal(got?.mail.subject, 'Upload by bob: /b');
});

test('e-mail: STARTTLS required but refused by the server is never sent in plain text (its 5xx reply dead-letters)', async (t) => {
  const server = await smtp(t, { starttls: false });
  const runtime = await testRuntime(t, config(emailHandler(server), { retry_schedule: [0, 0.05], jitter: 0 }));
  await runtime.host.emit('100', { account: { name: 'bob' }, data: { path: '/b', size: 1, owner: 'bob@example.com' } });
  const failed = await onlyDelivery(runtime, 'failed');
  assert.equal(failed.attempts, 1);
  assert.match(failed.lastError ?? '', /STARTTLS|5\d\d/);
  assert.equal(server.received.length, 0);
});

test('e-mail: a 4xx reply is retried and the next attempt succeeds; the attempt log keeps each SMTP reply', async (t) => {
  const server = await smtp(t, { reply: (i) => (i === 0 ? { code: 451, text: 'Try again later' } : undefined) });
  const runtime = await testRuntime(t, config(emailHandler(server), FAST_RETRIES));
  await runtime.host.emit('100', { account: { name: 'carol' }, data: { path: '/c', size: 3, owner: 'carol@example.com' } });
  await server.waitFor(1);
  const done = await onlyDelivery(runtime, 'done');
  const { attempts } = await runtime.services.delivery!.get(done.id);
  assert.equal(attempts.length, 2);
  assert.equal(attempts[0]?.ok, false);
  assert.equal(attempts[0]?.retryable, true);
  assert.match(attempts[0]?.response ?? '', /^451 Try again later/);
  assert.equal(attempts[1]?.ok, true);
});

test('e-mail: a 5xx reply dead-letters at once (no retry)', async (t) => {
  const server = await smtp(t, { reply: () => ({ code: 550, text: 'Mailbox unavailable' }) });
  const runtime = await testRuntime(t, config(emailHandler(server), FAST_RETRIES));
  await runtime.host.emit('100', { account: { name: 'dan' }, data: { path: '/d', size: 4, owner: 'dan@example.com' } });
  const failed = await onlyDelivery(runtime, 'failed');
  assert.equal(failed.attempts, 1);
  assert.match(failed.lastError ?? '', /550 Mailbox unavailable/);
  const { attempts } = await runtime.services.delivery!.get(failed.id);
  assert.match(attempts[0]?.response ?? '', /^550 /);
  assert.equal(server.refused, 1);
});

test('e-mail: a CR or LF in a rendered subject or address fails the delivery for good; no header is added', async (t) => {
  const server = await smtp(t);
  const runtime = await testRuntime(t, config(emailHandler(server, { subject: '{{data.title}}' }), FAST_RETRIES));
  await runtime.host.emit('100', { account: { name: 'eve' }, data: { title: 'hi\r\nBcc: evil@example.com', path: '/e', size: 1, owner: 'ok@example.com' } });
  await runtime.host.emit('100', { account: { name: 'eve' }, data: { title: 'fine', path: '/e', size: 1, owner: 'x@example.com\r\nBcc: evil@example.com' } });
  await runtime.host.emit('100', { account: { name: 'eve' }, data: { title: 'the good one', path: '/e', size: 1, owner: 'ok@example.com' } });
  await server.waitFor(1);
  const queue = runtime.services.delivery!;
  await waitFor(async () => (await queue.list({ target: 'handler:mail', state: 'failed' })).length === 2, { what: 'two failed deliveries' });
  const failed = await queue.list({ target: 'handler:mail', state: 'failed' });
  for (const d of failed) {
    assert.equal(d.attempts, 1, 'not retried');
    assert.match(d.lastError ?? '', /line break/);
  }
  assert.equal(server.received.length, 1);
  assert.equal(server.received[0]?.mail.subject, 'the good one');
  assert.ok(server.received.every((r) => !/evil@example\.com/.test(r.raw) && !r.envelopeTo.includes('evil@example.com')));
});

test('e-mail: attachments come only from attachments_from (symlinks resolved), capped by max_bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-mail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const outbox = join(dir, 'outbox');
  const outside = join(dir, 'secret');
  mkdirSync(outbox);
  mkdirSync(outside);
  writeFileSync(join(outbox, 'report.txt'), 'report body');
  writeFileSync(join(outbox, 'big.bin'), Buffer.alloc(2000));
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0');
  symlinkSync(join(outside, 'passwd'), join(outbox, 'link'));
  const server = await smtp(t);
  const runtime = await testRuntime(
    t,
    config(emailHandler(server, { subject: '{{data.path}}', attachments: [{ path: '{{data.path}}', max_bytes: 1000 }], attachments_from: [outbox] }), FAST_RETRIES),
  );
  for (const path of [join(outside, 'passwd'), join(outbox, 'link'), join(outbox, '..', 'secret', 'passwd'), join(outbox, 'big.bin'), join(outbox, 'report.txt')]) {
    await runtime.host.emit('100', { account: { name: 'f' }, data: { path, size: 1, owner: 'f@example.com' } });
  }
  const [got] = await server.waitFor(1);
  assert.equal(got?.mail.attachments.length, 1);
  assert.equal(got?.mail.attachments[0]?.filename, 'report.txt');
  assert.equal(got?.mail.attachments[0]?.content.toString(), 'report body');
  const queue = runtime.services.delivery!;
  await waitFor(async () => (await queue.list({ target: 'handler:mail', state: 'failed' })).length === 4, { what: 'four refused attachments' });
  const errors = (await queue.list({ target: 'handler:mail', state: 'failed' })).map((d) => d.lastError ?? '').sort();
  assert.equal(errors.filter((e) => /outside the folders of attachments_from/.test(e)).length, 3, errors.join('\n'));
  assert.equal(errors.filter((e) => /max_bytes/.test(e)).length, 1, errors.join('\n'));
  assert.equal(server.received.length, 1);
});

test('e-mail config: invalid addresses, a body-less message, attachments without folders, a missing password variable', async (t) => {
  const base = { type: 'email', name: 'm', smtp: { host: 'mail.example.com' }, from: 'a@example.com', to: 'b@example.com', text: 'x' };
  let error: unknown;
  try {
    validateConfigSources([
      {
        value: {
          handlers: [
            { ...base, name: 'a', to: ['not-an-address'] },
            { ...base, name: 'b', from: 'Ops <ops@exa mple.com>' },
            { ...base, name: 'c', cc: 'x@example.com\r\nBcc: y@example.com' },
            { ...base, name: 'd', text: undefined },
            { ...base, name: 'e', attachments: [{ path: '{{data.path}}' }] },
            { ...base, name: 'f', to: '{{data.owner}}', subject: '{{data.title}}' },
          ],
        },
      } as never,
    ]);
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const keys = error.problems.map((p) => p.key).sort();
  assert.deepEqual(keys, ['handlers.0.to.0', 'handlers.1.from', 'handlers.2.cc', 'handlers.3.text', 'handlers.4.attachments_from'], JSON.stringify(error.problems));
  assert.match(error.problems.find((p) => p.key === 'handlers.0.to.0')?.message ?? '', /not an e-mail address/);
  assert.match(error.problems.find((p) => p.key === 'handlers.2.cc')?.message ?? '', /line break/);

  // The variable the password comes from must be set when the handler is built.
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-mail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    createRuntime({
      logger: createLogger({ level: 'silent' }),
      baseDir: dir,
      config: { server: { data_dir: join(dir, 'data') }, handlers: [{ ...base, smtp: { host: 'mail.example.com', auth: { user: 'u', password_env: 'HKW_TEST_UNSET_VARIABLE' } } }] } as never,
    }),
    (err: unknown) => err instanceof ConfigError && err.problems[0]?.key === 'handlers.0.smtp.auth.password_env' && /HKW_TEST_UNSET_VARIABLE is not set/.test(err.problems[0].message),
  );
});

test('e-mail: the SMTP password never appears in logs or the admin API', async (t) => {
  const server = await smtp(t, { auth: { user: 'mailer', password: PASSWORD }, reply: (i) => (i === 0 ? { code: 550, text: 'No' } : undefined) });
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-mail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => lines.push(c.toString('utf8')));
  const smtpConfig = { host: '127.0.0.1', port: server.port, starttls: 'require', ca_file: CA_FILE, auth: { user: 'mailer', password_env: 'HKW_TEST_SMTP_PASSWORD' } };
  const runtime = await createRuntime({
    logger: createLogger({ level: 'trace', destination: sink }),
    baseDir: dir,
    config: {
      server: { data_dir: join(dir, 'data') },
      auth: { tokens: [{ name: 'admin', role: 'superuser', token: TOKEN }] },
      ...config(emailHandler(server, { smtp: smtpConfig }), FAST_RETRIES),
    } as never,
  });
  t.after(() => runtime.close());
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  t.after(() => gateway.close());
  const url = await gateway.listen();
  await runtime.host.emit('100', { account: { name: 'g' }, data: { path: '/g1', size: 1, owner: 'g@example.com' } });
  await onlyDelivery(runtime, 'failed');
  await runtime.host.emit('100', { account: { name: 'g' }, data: { path: '/g2', size: 1, owner: 'g@example.com' } });
  await server.waitFor(1);
  const done = await onlyDelivery(runtime, 'done');
  const replies: string[] = [];
  for (const path of ['/v1/deliveries', `/v1/deliveries/${done.id}`, '/v1/deliveries/depth', '/v1/health']) {
    const reply = await request(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    replies.push(await reply.body.text());
  }
  assert.ok(replies[0]?.includes(done.id), `the admin API listed the deliveries: ${replies[0]}`);
  assert.ok(lines.length > 0, 'something was logged');
  for (const text of [...replies, ...lines]) assert.ok(!text.includes(PASSWORD), `the password leaked: ${text.slice(0, 300)}`);
});
