// Counting probe for the engine delivery bench (issue 21): what survives the
// scavenges, per delivery, split by phase: BURST (the bench's 4,000 emits,
// which run before any is sent: they wait as pending rows) and SEND (until
// the receiver has them all: the requests in flight and what each finished
// delivery keeps). The bench's engine side (default delivery.sender_thread,
// memory store, counting receiver in this process), rounds of 4,000; `peer`
// runs the signed raw-undici peer instead (its rounds are all SEND). Sums
// V8's --trace-gc-nvp lines of each phase: bytes promoted to the old
// generation and bytes copied within the young one, scavenges, mark-compacts,
// scavenge pauses. Respawns itself under `stdbuf -oL` (V8 prints the lines
// through C stdio: line-buffered, they interleave with the phase marks).
// Run: node --import tsx bench/engine-survival-probe.ts [rounds] [engine|peer]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { eventToJSON } from '../src/events/event-json.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { generateSecret } from '../src/http/signing.js';
import { countingReceiver } from './lib.js';
import { signedPeer } from './signed-peer.js';

const CONCURRENCY = 64;
const PER_ROUND = 4000;
const WARM = 2;
const rounds = Number(process.argv[2] ?? 16);
const side = process.argv[3] === 'peer' ? 'peer' : 'engine';

if (process.argv[4] !== 'child') {
  const child = spawn('stdbuf', ['-oL', process.execPath, '--trace-gc-nvp', '--import', 'tsx', fileURLToPath(import.meta.url), String(rounds), side, 'child'], { stdio: ['ignore', 'pipe', 'inherit'] });
  type Sums = { scavenges: number; markCompacts: number; pauseMs: number; promoted: number; copied: number };
  const sums = new Map<string, Sums>();
  let phase = '';
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('MARK ')) {
        phase = line.slice(5);
        continue;
      }
      if (phase !== 'BURST' && phase !== 'SEND') continue;
      const s = sums.get(phase) ?? { scavenges: 0, markCompacts: 0, pauseMs: 0, promoted: 0, copied: 0 };
      sums.set(phase, s);
      if (line.includes(' gc=mc ')) s.markCompacts++;
      if (!line.includes(' gc=s ')) continue;
      const field = (name: string) => Number(new RegExp(` ${name}=([0-9.]+)`).exec(line)?.[1] ?? 0);
      s.scavenges++;
      s.pauseMs += field('pause');
      s.promoted += field('promoted');
      s.copied += field('new_space_survived');
    }
  });
  await new Promise((resolve) => child.on('exit', resolve));
  const n = rounds * PER_ROUND;
  let all = 0;
  for (const [name, s] of sums) {
    all += s.promoted + s.copied;
    console.log(`${side} ${name}: ${s.scavenges} scavenges (${s.markCompacts} mark-compacts), pauses ${((s.pauseMs * 1000) / n).toFixed(1)} µs, promoted ${(s.promoted / n).toFixed(0)} B, copied ${(s.copied / n).toFixed(0)} B per delivery`);
  }
  console.log(`${side}: survived the scavenges ${(all / n).toFixed(0)} B per delivery (promoted + copied, both phases)`);
  process.exit(0);
}

const receiver = await countingReceiver();
const url = `${receiver.url}/hook`;
const dir = mkdtempSync(join(tmpdir(), 'hookwork-survival-'));
const secret = generateSecret();
const runtime = await createRuntime({
  logger: silentLogger(),
  baseDir: dir,
  config: {
    server: { data_dir: join(dir, 'data') },
    events: [{ id: '100', name: 'uploaded' }],
    store: { url: 'memory' },
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [{ type: 'webhook', name: 'bench', url, secrets: [secret], concurrency: CONCURRENCY, actions: ['uploaded'] }],
  },
});
const padding = 'x'.repeat(700);
const sample = await runtime.host.emit('100', { data: { path: '/in/report.csv', size: 1024, padding } });
const body = JSON.stringify(eventToJSON(sample));
const raw = new Pool(new URL(url).origin, { connections: CONCURRENCY, pipelining: 1 });
async function inParallel(fn: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { for (let i = next++; i < PER_ROUND; i = next++) await fn(); }));
}
const signedRequest = signedPeer(raw, secret, body);
const mark = (name: string) => writeSync(1, `MARK ${name}\n`);
for (let r = 0; r < rounds + WARM; r++) {
  const measured = r >= WARM;
  if (side === 'peer') {
    mark(measured ? 'SEND' : 'WARM');
    await inParallel(signedRequest);
    continue;
  }
  const base = receiver.count();
  mark(measured ? 'BURST' : 'WARM');
  await inParallel(() => runtime.host.emit('100', { data: { path: '/in/report.csv', size: 1024, padding } }));
  if (measured) mark('SEND');
  while (receiver.count() < base + PER_ROUND) await new Promise((resolve) => setImmediate(resolve));
}
mark('END');
await raw.close();
await runtime.close();
await receiver.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
