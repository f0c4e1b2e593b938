// Webhook delivery throughput to a local receiver (issue 5, point 8), each
// against raw undici Pool.request with the same concurrency and the same
// receiver, interleaved in one run. The peer sends the same body and headers
// and, like any sender of Standard Webhooks, gives each request its own
// webhook-id, the current timestamp and the HMAC of those (node:crypto
// directly); the body is serialised beforehand, so the engine alone pays
// for building and serialising events. A second, informational peer sends one
// request signed once, over and over (no per-request work at all).
// - the engine: emit -> routing -> delivery queue -> webhook target, with the
//   in-memory queue (issue 5's queue; the durable stores are measured in
//   delivery.bench.ts, end to end too), with the default delivery.sender_thread
//   setting (the target: ≥ 0.9x of the signed peer at the median pass); the
//   explicit settings (sender thread, main thread) are reported beside it;
// - the same, contended: a busy process spins on one core during those
//   rounds (lib.ts busyCore()), as on a host whose other work takes a core.
//   The default must not be the worse of the two settings there. The default
//   (`auto`) chooses per request from the CPU other processes use (http/
//   spare-cores.ts): the rows name the share it sent from the sender thread;
// - the target's attempt() on deliveries as the queue hands them over (the
//   event JSON was serialised at enqueue; signing, SSRF check, pool per call);
// - run() on bare records, which also serialises each one, and the same work
//   done by hand around undici (informational).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { eventToJSON } from '../src/events/event-json.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { HttpPools } from '../src/http/pools.js';
import { generateSecret, WebhookSigner } from '../src/http/signing.js';
import { SsrfGuard } from '../src/http/ssrf-guard.js';
import type { DeliveryRecord } from '../src/delivery/types.js';
import type { EventRecord } from '../src/handlers/target.js';
import { WebhookTarget } from '../src/webhooks/sender.js';
import { AdaptiveTransport } from '../src/http/adaptive-transport.js';
import { senderMode } from '../src/http/sender-choice.js';
import { benchPasses, benchRounds, busyCore, countingReceiver, median, type BenchResult } from './lib.js';
import { signedPeer } from './signed-peer.js';

const CONCURRENCY = 64;
const PER_ROUND = 4000;
// Rounds of ~0.4 s swing up to ±30 % on a shared VM: the median needs many of them (--quick: one).
const ROUNDS = benchRounds(9);
const CONTENDED_ROUNDS = benchPasses();

async function inParallel(total: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < total; i = next++) await fn(i);
    }),
  );
}

export async function run(): Promise<BenchResult[]> {
  const receiver = await countingReceiver();
  const url = `${receiver.url}/hook`;
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-bench-webhooks-'));
  const secret = generateSecret();

  // undefined: the default setting.
  const engine = (senderThread: boolean | undefined) =>
    createRuntime({
      logger: silentLogger(),
      baseDir: dir,
      config: {
        server: { data_dir: join(dir, senderThread === undefined ? 'data-default' : senderThread ? 'data' : 'data-inline') },
        events: [{ id: '100', name: 'uploaded' }],
        store: { url: 'memory' },
        ssrf: { allow: ['127.0.0.1/32'] },
        ...(senderThread === undefined ? {} : { delivery: { sender_thread: senderThread } }),
        handlers: [{ type: 'webhook', name: 'bench', url, secrets: [secret], concurrency: CONCURRENCY, actions: ['uploaded'] }],
      },
    });
  const defaultRuntime = await engine(undefined);
  const runtime = await engine(true);
  const inlineRuntime = await engine(false);
  const padding = 'x'.repeat(700);
  const sample = await runtime.host.emit('100', { data: { path: '/in/report.csv', size: 1024, padding } });
  const record = eventToJSON(sample);
  const body = JSON.stringify(record);

  const pools = new HttpPools({ connections: CONCURRENCY });
  const target = new WebhookTarget({ name: 'direct', url, secrets: [secret], concurrency: CONCURRENCY }, { http: pools, ssrf: new SsrfGuard({ allow: ['127.0.0.1/32'] }) });
  const raw = new Pool(new URL(url).origin, { connections: CONCURRENCY, pipelining: 1 });
  const signal = new AbortController().signal;
  // What the target puts on the wire, computed once: the receiver does the same work for both.
  const timestamp = String(Math.floor(Date.now() / 1000));
  const rawHeaders = [
    'user-agent', 'Hookwork-Webhook/0.1',
    'content-type', 'application/json',
    'webhook-id', 'msg_b',
    'webhook-timestamp', timestamp,
    'webhook-signature', new WebhookSigner([secret]).signature('msg_b', timestamp, body),
  ];
  const rawRequest = async (): Promise<void> => {
    const res = await raw.request({ path: '/hook', method: 'POST', body, headers: rawHeaders });
    await res.body.dump();
  };
  // The peer of the targets: what a hand-written Standard Webhooks sender does per request.
  const signedRequest = signedPeer(raw, secret, body);
  // Informational: undici doing by hand the work every delivery needs (serialise, sign).
  const signer = new WebhookSigner([secret]);
  const byHand = async (event: EventRecord): Promise<void> => {
    const text = JSON.stringify(event);
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = ['user-agent', 'Hookwork-Webhook/0.1', 'content-type', 'application/json', 'webhook-id', 'msg_b', 'webhook-timestamp', ts, 'webhook-signature', signer.signature('msg_b', ts, text)];
    const res = await raw.request({ path: '/hook', method: 'POST', body: text, headers });
    await res.body.dump();
  };
  // Each attempt gets its own record, as each delivery does, so run() on a
  // bare record serialises every one. The copies are made before the clock starts.
  const records = (): EventRecord[] => Array.from({ length: PER_ROUND }, () => ({ ...record }));
  // What the delivery queue hands attempt(): a record with the event's JSON
  // as it serialised it at enqueue (that cost is in the engine figure).
  const deliveries = (): DeliveryRecord[] =>
    Array.from({ length: PER_ROUND }, (_, i) => ({
      id: `dlv_${i}`,
      target: 'direct',
      event: { ...record },
      eventJson: body,
      webhookId: `msg_${i}`,
      attempts: 0,
      state: 'inflight' as const,
      dueAt: 0,
      createdAt: 0,
      updatedAt: 0,
    }));

  const defaultEngineRates: number[] = [];
  const engineRates: number[] = [];
  const inlineEngineRates: number[] = [];
  const targetRates: number[] = [];
  const runRates: number[] = [];
  const rawRates: number[] = [];
  const signedRates: number[] = [];
  const byHandRates: number[] = [];
  // CPU per delivery (all threads of this process, the receiver's too: the same for every side), beside
  // each rate: a count of work that a shared machine's swings disturb far less than the rates.
  const cpuOf = new Map<number[], number[]>();
  let lastCpu = 0;
  const timed = async (fn: () => Promise<void>): Promise<number> => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await fn();
    const used = process.cpuUsage(cpu);
    lastCpu = (used.user + used.system) / PER_ROUND;
    return PER_ROUND / ((performance.now() - start) / 1000);
  };
  const push = (rates: number[], rate: number): void => {
    rates.push(rate);
    let cpus = cpuOf.get(rates);
    if (cpus === undefined) cpuOf.set(rates, (cpus = []));
    cpus.push(lastCpu);
  };
  const waitReceived = async (count: number): Promise<void> => {
    while (receiver.count() < count) await new Promise((r) => setImmediate(r));
  };
  const throughEngine = async (engineRuntime: typeof runtime): Promise<void> => {
    const base = receiver.count();
    // Emitted as a server would, from many requests at once.
    await inParallel(PER_ROUND, () => engineRuntime.host.emit('100', { data: { path: '/in/report.csv', size: 1024, padding } }));
    await waitReceived(base + PER_ROUND);
  };
  const sides: Array<() => Promise<void>> = [
    async () => {
      push(rawRates, await timed(() => inParallel(PER_ROUND, rawRequest)));
    },
    async () => {
      push(signedRates, await timed(() => inParallel(PER_ROUND, signedRequest)));
    },
    async () => {
      const batch = deliveries();
      push(targetRates, await timed(() =>
          inParallel(PER_ROUND, (i) => {
            const delivery = batch[i] as DeliveryRecord;
            return target.attempt(delivery, { webhookId: delivery.webhookId, attempt: 1, signal });
          }),
        ),
      );
    },
    async () => {
      const batch = records();
      push(runRates, await timed(() => inParallel(PER_ROUND, (i) => target.run(batch[i] as EventRecord, { webhookId: 'msg_b', attempt: 1, signal }))));
    },
    async () => {
      const batch = records();
      push(byHandRates, await timed(() => inParallel(PER_ROUND, (i) => byHand(batch[i] as EventRecord))));
    },
    async () => {
      push(defaultEngineRates, await timed(() => throughEngine(defaultRuntime)));
    },
    async () => {
      push(engineRates, await timed(() => throughEngine(runtime)));
    },
    async () => {
      push(inlineEngineRates, await timed(() => throughEngine(inlineRuntime)));
    },
  ];
  // Warm up every path, then rotate who goes first each round.
  const warm = records().slice(0, 500);
  const warmDeliveries = deliveries().slice(0, 500);
  await inParallel(500, (i) => target.run(warm[i] as EventRecord, { webhookId: 'msg_w', attempt: 1, signal }));
  await inParallel(500, (i) => target.attempt(warmDeliveries[i] as DeliveryRecord, { webhookId: 'msg_w', attempt: 1, signal }));
  await inParallel(500, (i) => byHand(warm[i] as EventRecord));
  await inParallel(500, rawRequest);
  await inParallel(500, signedRequest);
  // One whole round of every side, discarded: the engine's path (emit, queue) is cold until then.
  for (const side of sides) await side();
  const allRates = [defaultEngineRates, engineRates, inlineEngineRates, targetRates, runRates, rawRates, signedRates, byHandRates];
  const clear = (): void => {
    for (const rates of allRates) {
      rates.length = 0;
      cpuOf.set(rates, []);
    }
  };
  // What the default's adaptive transport chose, per phase: the share of its requests sent from the sender thread.
  const adaptive = defaultRuntime.services.targets?.http;
  const sent = (): [number, number] => (adaptive instanceof AdaptiveTransport ? [adaptive.sentOnThread, adaptive.sentOnMain] : [0, 0]);
  const threadShare = (from: [number, number], to: [number, number]): string => {
    const thread = to[0] - from[0];
    const all = thread + to[1] - from[1];
    return all === 0 ? '' : `, ${Math.round((100 * thread) / all)} % from the sender thread`;
  };
  clear();
  const uncontendedFrom = sent();
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < sides.length; k++) await (sides[(round + k) % sides.length] as () => Promise<void>)();
  }
  // Each round's figures were taken side by side: one ratio per round.
  const ratios = (ours: number[], peers: number[]): number[] => ours.map((o, i) => o / (peers[i] as number));
  const uncontendedShare = threadShare(uncontendedFrom, sent());
  const uncontended = allRates.map((rates) => [...rates]);
  const cpu = (rates: number[]): number[] => [...(cpuOf.get(rates) ?? [])];
  const [uDefaultCpu, uThreadCpu, uInlineCpu, , , , uSignedCpu] = allRates.map(cpu) as number[][];
  const [uDefault, uThread, uInline, uTarget, uRun, uRaw, uSigned, uByHand] = uncontended as [number[], number[], number[], number[], number[], number[], number[], number[]];

  // Contended: the three engines and the signed peer, rotating, with one core taken by a spinning process.
  clear();
  const contendedSides = [sides[1], sides[5], sides[6], sides[7]] as Array<() => Promise<void>>;
  let contendedShare = '';
  const busy = await busyCore();
  try {
    for (const side of contendedSides) await side();
    clear();
    const contendedFrom = sent();
    for (let round = 0; round < CONTENDED_ROUNDS; round++) {
      for (let k = 0; k < contendedSides.length; k++) await (contendedSides[(round + k) % contendedSides.length] as () => Promise<void>)();
    }
    contendedShare = threadShare(contendedFrom, sent());
  } finally {
    await busy.stop();
  }
  const [cDefault, cThread, cInline, , , , cSigned] = allRates as [number[], number[], number[], number[], number[], number[], number[], number[]];

  const mode = senderMode(defaultRuntime.config.delivery.sender_thread);
  const defaultMode = mode === 'adaptive' ? 'auto' : mode === 'thread' ? 'sender thread' : 'main thread';
  await raw.close();
  await pools.close();
  await defaultRuntime.close();
  await runtime.close();
  await inlineRuntime.close();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
  const peer = median(uSigned);
  const size = `${(Buffer.byteLength(body) / 1024).toFixed(1)} KiB JSON`;
  const signedPeerName = 'undici Pool.request, signed per request';
  return [
    {
      name: `webhook target attempt() on queued deliveries (sign, SSRF check, pool), ${CONCURRENCY} in flight, ${size}`,
      unit: 'req/s',
      ours: median(uTarget),
      peer,
      ratios: ratios(uTarget, uSigned),
      peerName: signedPeerName,
      higherIsBetter: true,
      target: 'within 1.25x',
    },
    {
      // The queue part of this figure belongs to src/delivery/.
      name: `webhook delivery through the engine (emit, in-memory queue, target; default sender_thread: ${defaultMode}${uncontendedShare}), ${CONCURRENCY} in flight, ${size}`,
      unit: 'req/s',
      ours: median(uDefault),
      peer,
      ratios: ratios(uDefault, uSigned),
      peerName: signedPeerName,
      higherIsBetter: true,
      target: 'at least 0.9x',
    },
    {
      name: `the same, sender_thread: true (informational)`,
      unit: 'req/s',
      ours: median(uThread),
      peer,
      ratios: ratios(uThread, uSigned),
      peerName: signedPeerName,
      higherIsBetter: true,
    },
    {
      name: `the same, sender_thread: false, all on the main thread (informational)`,
      unit: 'req/s',
      ours: median(uInline),
      peer,
      ratios: ratios(uInline, uSigned),
      peerName: signedPeerName,
      higherIsBetter: true,
    },
    {
      name: `contended (a busy process on one core): webhook delivery through the engine, default (${defaultMode}${contendedShare})`,
      unit: 'req/s',
      ours: median(cDefault),
      peer: median(cSigned),
      ratios: ratios(cDefault, cSigned),
      peerName: `${signedPeerName}, contended too`,
      higherIsBetter: true,
      target: 'at least 0.9x',
    },
    {
      name: `contended: sender_thread: true (informational)`,
      unit: 'req/s',
      ours: median(cThread),
      peer: median(cSigned),
      ratios: ratios(cThread, cSigned),
      peerName: `${signedPeerName}, contended too`,
      higherIsBetter: true,
    },
    {
      name: `contended: sender_thread: false (informational)`,
      unit: 'req/s',
      ours: median(cInline),
      peer: median(cSigned),
      ratios: ratios(cInline, cSigned),
      peerName: `${signedPeerName}, contended too`,
      higherIsBetter: true,
    },
    ...(
      [
        ['default', uDefaultCpu],
        ['sender_thread: true', uThreadCpu],
        ['sender_thread: false', uInlineCpu],
      ] as const
    ).map(([mode, cpus]) => ({
      name: `CPU per delivery (this process, all threads; receiver included on both sides), engine with ${mode} (informational)`,
      unit: 'µs',
      ours: median(cpus as number[]),
      peer: median(uSignedCpu as number[]),
      ratios: (cpus as number[]).map((c, i) => (uSignedCpu as number[])[i] as number / c),
      peerName: signedPeerName,
      higherIsBetter: false,
    })),
    {
      name: `webhook delivery through the engine (default) vs one request signed once, replayed (informational)`,
      unit: 'req/s',
      ours: median(uDefault),
      peer: median(uRaw),
      ratios: ratios(uDefault, uRaw),
      peerName: 'undici Pool.request, no per-request work',
      higherIsBetter: true,
    },
    {
      name: `webhook target run() on bare records (serialise each, sign, SSRF check, pool), ${CONCURRENCY} in flight`,
      unit: 'req/s',
      ours: median(uRun),
      peer,
      ratios: ratios(uRun, uSigned),
      peerName: signedPeerName,
      higherIsBetter: true,
    },
    {
      name: `webhook target run() vs undici + JSON.stringify + HMAC by hand (informational), ${CONCURRENCY} in flight`,
      unit: 'req/s',
      ours: median(uRun),
      peer: median(uByHand),
      ratios: ratios(uRun, uByHand),
      peerName: 'undici, serialise+sign by hand',
      higherIsBetter: true,
    },
  ];
}
