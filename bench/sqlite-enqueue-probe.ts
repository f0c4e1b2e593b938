// What one enqueued row costs the SQLite store alone (no gateway, no
// thread): BATCHES enqueues of 1,000 rows (150 by default) into a new file,
// with MODE=base (as shipped: time-ordered, version 7 event uuids),
// MODE=nouuididx (the deliveries_event_uuid index dropped) or MODE=v4
// (random, version 4 event uuids, as before), to see what the event-uuid
// index costs a batch (docs/performance.md,
// "Batch ingest: where the time went, what was cut (third round)").
// `MODE=base node --import tsx bench/sqlite-enqueue-probe.ts`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/delivery/sqlite-store.js';
import { newDeliveryId } from '../src/delivery/delivery-id.js';
import { newWebhookId } from '../src/delivery/message-id.js';
import { newEventUuid } from '../src/events/event-uuid.js';

const mode = process.env['MODE'] ?? 'base';
const BATCHES = Number(process.env['BATCHES'] ?? 150);
const dir = mkdtempSync(join(tmpdir(), 'hookwork-enqueue-probe-'));
const file = join(dir, 'probe.db');
const store = new SqliteStore({ file });
await store.migrate();
if (mode === 'nouuididx') {
  const db = new Database(file);
  db.exec('DROP INDEX deliveries_event_uuid');
  db.close();
}
// An event's JSON text the size of the ingest bench's (~900 bytes).
const eventJson = (uuid: string): string =>
  `{"id":"1001","uuid":"${uuid}","name":"bench","groups":[],"message":"","account":{"uuid":"00000000-0000-0000-0000-000000000001","name":"process","peer":{"address":"","port":0,"protocol":"TCP","family":"IPv4"}},"component":{"uuid":"00000000-0000-0000-0000-000000000000","name":"","type":""},"server":{"uuid":"3b0c6f0e-8c44-4a0e-b1a5-6f0b1d0e7c11","name":"host"},"timestamp":{"iso":"2026-12-06T12:00:00.000Z","epoch":1796558400,"ms":1796558400000,"a":"x","b":"y","c":"z","d":"w"},"data":{"file":"/a/b.txt","size":1234},"data_json":"{\\"file\\":\\"/a/b.txt\\",\\"size\\":1234}"}`;
let cpuUs = 0;
let wallMs = 0;
for (let b = 0; b < BATCHES; b++) {
  const now = Date.now();
  const rows = Array.from({ length: 1000 }, () => ({
    id: newDeliveryId(now),
    target: 'elsewhere',
    eventJson: eventJson(mode === 'v4' ? randomUUID() : newEventUuid()),
    webhookId: newWebhookId(),
    dueAt: now + 1000,
    createdAt: now,
  }));
  const cpu = process.cpuUsage();
  const start = performance.now();
  await store.enqueue(rows);
  wallMs += performance.now() - start;
  const used = process.cpuUsage(cpu);
  cpuUs += used.user + used.system;
}
console.log(`${mode}: enqueue CPU ${(cpuUs / (BATCHES * 1000)).toFixed(1)} µs/row, wall ${((1000 * wallMs) / (BATCHES * 1000)).toFixed(1)} µs/row`);
await store.close();
rmSync(dir, { recursive: true, force: true });
