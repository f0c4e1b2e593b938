// The SQLite store's own work per delivery, in this thread (no worker, no
// dispatcher, no HTTP): the durable row's cycle replayed on SqliteStore's
// packed calls, as the store thread runs them. 4,000 deliveries a round,
// enqueued 500 at a time (the first 256 written claimed, as the queue does
// while the dispatcher has room), then settled 64 at a time, each settle
// batch with the next claim of 64 in the same call (settleAndClaimPacked),
// with the attempt record an unsigned webhook handler writes (request and
// response headers; CYCLE_BATCH=n settles n a call instead). Per delivery: CPU of this thread in the store calls
// (schedstat), statements, WAL bytes written. Run:
// node --require ./bench/sqlite-count-hook.cjs --import tsx bench/sqlite-store-cycle.ts [rounds]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/delivery/sqlite-store.js';
import { packRows, packSettles, unpackClaimed, type Packed } from '../src/delivery/sqlite-wire.js';
import { newDeliveryId } from '../src/delivery/delivery-id.js';
import type { SettleRequest, StoredDeliveryInput } from '../src/delivery/store.js';
import type { DeliveryRecord } from '../src/delivery/types.js';
import { median } from './lib.js';

const N = 4000;
const ROUNDS = Number(process.argv[2] ?? 7);
const WINDOW = 256;
const BATCH = Number(process.env['CYCLE_BATCH'] ?? 64);
const NODE = 'node-a';
const LEASE = 30_000;
const body = JSON.stringify({ id: '1001', data: { file: '/a/b.txt', size: 1234, user: 'alice' }, pad: 'x'.repeat(700) });
const event = JSON.stringify({ uuid: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', id: '1001', name: 'bench', time: new Date().toISOString(), data: JSON.parse(body) });
const responseHeaders = Object.freeze({ 'content-type': 'text/plain', date: 'Sun, 06 Dec 2026 14:40:00 GMT', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'content-length': '2' });

const cpuUs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
const io = (): number => Number(/^wchar: (\d+)/m.exec(readFileSync('/proc/thread-self/io', 'utf8'))?.[1] ?? 0);
const counting = process.execArgv.some((a) => a.includes('sqlite-count-hook'));
const counts = (): Map<string, number> => (globalThis as { __sqliteCounts?: Map<string, number> }).__sqliteCounts ?? new Map();

const dir = mkdtempSync(join(tmpdir(), 'hookwork-cycle-'));
const store = new SqliteStore({ file: join(dir, 'cycle.db') });
await store.migrate();

let storeUs = 0;
const timed = <T>(fn: () => T): T => {
  const t0 = cpuUs();
  try {
    return fn();
  } finally {
    storeUs += cpuUs() - t0;
  }
};

function settleOf(d: DeliveryRecord, now: number): SettleRequest {
  return {
    deliveryId: d.id,
    nodeId: NODE,
    attempt: d.attempts + 1,
    outcome: { state: 'done' },
    record: {
      deliveryId: d.id,
      attempt: d.attempts + 1,
      startedAt: now,
      durationMs: 2,
      ok: true,
      httpStatus: 200,
      response: 'ok',
      requestHeaders: { 'user-agent': 'Hookwork/0.1', 'content-type': 'application/json', 'webhook-id': d.webhookId, 'webhook-timestamp': String(Math.floor(now / 1000)), 'content-length': String(event.length) },
      requestBodyIsEvent: true,
      responseHeaders,
    },
  };
}

async function round(): Promise<void> {
  const now = Date.now();
  let inflight: DeliveryRecord[] = [];
  for (let i = 0; i < N; i += 500) {
    const rows: StoredDeliveryInput[] = [];
    for (let k = 0; k < 500; k++) {
      const claimed = i === 0 && k < WINDOW;
      const id = newDeliveryId(now);
      rows.push({ id, target: 'handler:bench', eventJson: event, webhookId: `msg_${id}`, dueAt: now, createdAt: now, ...(claimed ? { claim: { nodeId: NODE, leaseUntil: now + LEASE } } : {}) });
      if (claimed) inflight.push({ id, target: 'handler:bench', event: {}, eventJson: event, webhookId: `msg_${id}`, attempts: 0, state: 'inflight', dueAt: now, createdAt: now, updatedAt: now });
    }
    const packed = packRows(rows);
    timed(() => store.enqueuePacked(packed));
  }
  let settled = 0;
  while (settled < N) {
    const batch = inflight.slice(0, BATCH);
    inflight = inflight.slice(BATCH);
    const packed: Packed[] = packSettles(batch.map((d) => settleOf(d, Date.now())));
    const claim = { nodeId: NODE, now: Date.now(), leaseMs: LEASE, capacity: new Map([['handler:bench', BATCH]]) };
    const claimed = timed(() => store.settleAndClaimPacked(packed, claim));
    settled += batch.length;
    for (const d of unpackClaimed(claimed)) inflight.push(d);
  }
}

const rows: number[] = [];
let c0 = new Map(counts());
let w0 = io();
await round(); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  storeUs = 0;
  if (r === 0) {
    c0 = new Map(counts());
    w0 = io();
  }
  await round();
  rows.push(storeUs / N);
}
const w1 = io();
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(`store CPU per delivery, µs: ${rows.map((x) => x.toFixed(1)).join(' ')}  median ${median(rows).toFixed(1)}`);
console.log(`written ${((w1 - w0) / (N * ROUNDS)).toFixed(0)} B per delivery`);
if (counting) {
  let all = 0;
  for (const [k, n] of counts()) {
    const d = (n - (c0.get(k) ?? 0)) / (N * ROUNDS);
    if (d === 0) continue;
    all += d;
    console.log(`  ${d.toFixed(3)}  ${k}`);
  }
  console.log(`statements ${all.toFixed(3)} per delivery`);
}
