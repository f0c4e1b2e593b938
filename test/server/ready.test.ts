// GET /v1/ready: 200 while every part answers; 503 naming the store (SQLite
// closed, PostgreSQL stopped) or a plugin whose start failed. /v1/health stays
// the liveness probe meanwhile.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPostgres } from '../helpers/postgres.js';
import { send, startGateway } from './gateway-helpers.js';

interface Part {
  part: string;
  ok: boolean;
  reason?: string;
}

const failing = (body: Record<string, unknown>): Part[] => (body['parts'] as Part[]).filter((p) => !p.ok);

test('ready: 200 with every part named when the store, the sender thread and the plugins are up; open without a token', async (t) => {
  // The sender thread asked for: its default (auto) depends on the machine's cores.
  const gw = await startGateway({ auth: { tokens: [{ name: 'op', token: 'op-token-1234567890', role: 'operator' }] }, delivery: { sender_thread: true } });
  t.after(() => gw.close());
  const reply = await send(gw.url, 'GET', '/v1/ready');
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body['status'], 'ready');
  const names = (reply.body['parts'] as Part[]).map((p) => p.part);
  assert.ok(names.includes('delivery-store'), names.join());
  assert.ok(names.includes('sender-thread'), names.join());
  assert.ok(names.includes('extension-pool'), names.join());
  assert.ok(gw.gateway.routes().some((r) => r.url === '/v1/ready' && r.access === 'public'));
});

test('ready: 503 naming the delivery store once the SQLite store is closed; health stays 200', async (t) => {
  const gw = await startGateway({ store: { url: 'sqlite:hookwork.db' } });
  t.after(() => gw.close());
  assert.equal((await send(gw.url, 'GET', '/v1/ready')).status, 200);
  await gw.runtime.services.delivery!.store.close();
  const reply = await send(gw.url, 'GET', '/v1/ready');
  assert.equal(reply.status, 503);
  assert.equal(reply.body['status'], 'not-ready');
  const bad = failing(reply.body);
  assert.deepEqual(bad.map((p) => p.part), ['delivery-store']);
  assert.ok((bad[0]?.reason ?? '') !== '', 'a reason');
  assert.equal((await send(gw.url, 'GET', '/v1/health')).status, 200, 'liveness is not readiness');
});

test('ready: 503 naming the delivery store while PostgreSQL is stopped, 200 again once it is back', async (t) => {
  const pg = await startPostgres();
  t.after(() => pg.stop());
  const gw = await startGateway({ store: { url: pg.url } });
  t.after(() => gw.close());
  assert.equal((await send(gw.url, 'GET', '/v1/ready')).status, 200);
  await pg.halt();
  const reply = await send(gw.url, 'GET', '/v1/ready');
  assert.equal(reply.status, 503);
  assert.deepEqual(failing(reply.body).map((p) => p.part), ['delivery-store']);
  const password = new URL(pg.url).password;
  assert.ok(password === '' || !JSON.stringify(reply.body).includes(`:${password}@`), 'no password in the reasons');
  await pg.resume();
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = (await send(gw.url, 'GET', '/v1/ready')).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 200);
});

test('ready: 503 naming an active plugin whose start failed, with its error', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'hookwork-ready-plugins-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  writeFileSync(join(folder, 'ok.mjs'), `export const plugin = { name: 'ok', version: '1.0.0', setup() {} };\n`);
  writeFileSync(
    join(folder, 'broken.mjs'),
    `export const plugin = { name: 'broken', version: '1.0.0', setup() { return { start() { throw new Error('database is down'); } }; } };\n`,
  );
  const gw = await startGateway({ plugins: { folder, active: ['ok', 'broken'] } });
  t.after(() => gw.close());
  const reply = await send(gw.url, 'GET', '/v1/ready');
  assert.equal(reply.status, 503, JSON.stringify(reply.body));
  const bad = failing(reply.body);
  assert.deepEqual(bad.map((p) => p.part), ['plugin:broken']);
  assert.match(bad[0]?.reason ?? '', /failed.*database is down/);
  assert.ok((reply.body['parts'] as Part[]).some((p) => p.part === 'plugin:ok' && p.ok));
});
