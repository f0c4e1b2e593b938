// Command target overhead (issue 5, point 8): CommandTarget.run of /bin/true
// (templates, cleared environment, process group, capture, limiter) against
// child_process.execFile of the same program, one at a time, interleaved.

import { execFile } from 'node:child_process';
import { CommandTarget } from '../src/commands/runner.js';
import { benchPasses, median, type BenchResult } from './lib.js';

const PER_ROUND = 150;
const ROUNDS = benchPasses();
const PROGRAM = '/bin/true';

function execOnce(): Promise<void> {
  return new Promise((resolve, reject) => execFile(PROGRAM, ['upload', '/in/a.txt'], (err) => (err === null ? resolve() : reject(err))));
}

export async function run(): Promise<BenchResult[]> {
  const target = new CommandTarget({ name: 'bench', command: PROGRAM, args: ['{{name}}', '{{data.path}}'], env: { FILE: '{{data.path}}' } });
  const event = { id: '100', name: 'upload', data: { path: '/in/a.txt' } };
  const signal = new AbortController().signal;
  const ours: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < 20; i++) {
    await execOnce();
    await target.run(event, { webhookId: 'w', attempt: 1, signal });
  }
  const peerRound = async (): Promise<void> => {
    const start = performance.now();
    for (let i = 0; i < PER_ROUND; i++) await execOnce();
    peer.push((performance.now() - start) / PER_ROUND);
  };
  const oursRound = async (): Promise<void> => {
    const start = performance.now();
    for (let i = 0; i < PER_ROUND; i++) {
      const result = await target.run(event, { webhookId: 'w', attempt: 1, signal });
      if (!result.ok) throw new Error(result.error);
    }
    ours.push((performance.now() - start) / PER_ROUND);
  };
  // Alternating who goes first.
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      await peerRound();
      await oursRound();
    } else {
      await oursRound();
      await peerRound();
    }
  }
  return [
    {
      name: `command target run of ${PROGRAM} (templated args and env), one at a time`,
      unit: 'ms/run',
      ours: median(ours),
      peer: median(peer),
      ratios: ours.map((o, i) => (peer[i] as number) / o),
      peerName: 'child_process.execFile',
      higherIsBetter: false,
      target: 'within 1.1x',
    },
  ];
}
