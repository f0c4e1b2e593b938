// Batch ingest (issue 20, point 2): events/s accepted through
// POST /v1/events/batch (1,000 events a request) against single
// POST /v1/events (64 clients), on the same gateway build with a durable
// SQLite enqueue before each answer; target: at least 5x. Each event goes to
// one delivery (an emit stage enqueues it for a target nobody registers, so
// nothing is delivered: this measures accepting only). Each side has its own
// gateway and SQLite file, warmed up by one round (its SQLite thread's JIT
// too); passes then alternate who goes first (bench/lib.ts alternate()), and the
// median pass ratio decides.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { eventJsonText } from '../src/events/event-json.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { createGateway } from '../src/server/gateway.js';
import { alternate, benchRounds, type BenchResult } from './lib.js';

// Per round and side: 16 batches, so a batch round lasts long enough (~0.5 s) not to be one GC pause's figure.
export const EVENTS = 16_000;
export const SINGLE_CLIENTS = 64;
const BATCH = 1000;
export const BATCH_CLIENTS = 2;
// Rounds swing on a shared VM: the median needs several (BENCH_ROUNDS overrides; --quick: one).
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? benchRounds(5));

const EVENT = { id: '1001', data: { file: '/a/b.txt', size: 1234 } };

export interface Side {
  /** Events/s accepted over one round. */
  round(): Promise<number>;
  close(): Promise<void>;
}

/** A gateway on a SQLite file of its own, sending with `send`; warmed up by one round, whose figure is dropped. */
export async function side(send: (client: Pool) => Promise<void>, connections: number): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-bench-ingest-'));
  const runtime = await createRuntime({
    config: {
      log_level: 'silent',
      server: { data_dir: join(dir, 'data') },
      events: [{ id: '1001', name: 'bench' }],
      store: { url: 'sqlite:bench.db' },
      delivery: { sender_thread: false },
    },
    baseDir: dir,
    logger: silentLogger(),
  });
  runtime.host.addEmitStage(async (e) => {
    // The JSON text, as the targets' router hands it over.
    await runtime.services.delivery!.enqueue([{ target: 'elsewhere', eventJson: eventJsonText(e) }]);
  });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  const client = new Pool(await gateway.listen(), { connections });
  const round = async (): Promise<number> => {
    const start = performance.now();
    await send(client);
    return EVENTS / ((performance.now() - start) / 1000);
  };
  await round();
  return {
    round,
    async close() {
      await client.close();
      await gateway.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function single(client: Pool): Promise<void> {
  const body = JSON.stringify(EVENT);
  let next = 0;
  await Promise.all(
    Array.from({ length: SINGLE_CLIENTS }, async () => {
      while (next++ < EVENTS) {
        const res = await client.request({ path: '/v1/events', method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (res.statusCode !== 202) throw new Error(`POST /v1/events answered ${res.statusCode}: ${await res.body.text()}`);
        await res.body.dump();
      }
    }),
  );
}

export async function batched(client: Pool): Promise<void> {
  const body = JSON.stringify({ events: Array.from({ length: BATCH }, () => EVENT) });
  let next = 0;
  await Promise.all(
    Array.from({ length: BATCH_CLIENTS }, async () => {
      while ((next += BATCH) <= EVENTS) {
        const res = await client.request({ path: '/v1/events/batch', method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const reply = (await res.body.json()) as { accepted?: number };
        if (res.statusCode !== 200 || reply.accepted !== BATCH) throw new Error(`POST /v1/events/batch answered ${res.statusCode}: ${JSON.stringify(reply)}`);
      }
    }),
  );
}

export async function run(): Promise<BenchResult[]> {
  const batch = await side(batched, BATCH_CLIENTS);
  const one = await side(single, SINGLE_CLIENTS);
  let result: { ours: number; peer: number; ratios: number[] };
  try {
    // Passes alternate who goes first, after a discarded one (bench/lib.ts).
    result = await alternate(ROUNDS, () => batch.round(), () => one.round());
  } finally {
    await batch.close();
    await one.close();
  }
  return [
    {
      name: `events accepted through POST /v1/events/batch (${BATCH} a request, SQLite)`,
      unit: 'events/s',
      ...result,
      peerName: `single POST /v1/events, ${SINGLE_CLIENTS} clients`,
      higherIsBetter: true,
      target: 'at least 5x',
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatResults } = await import('./lib.js');
  console.log(formatResults(await run()));
}
