// A webhook receiver on 127.0.0.1 that only counts (and, when asked, notes
// when each request arrived): the cheapest peer a delivery can have, so
// the figures are the engine's and the store's.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingReceiver {
  readonly url: string;
  count(): number;
  /** Resolves once `goal` requests have arrived in all. */
  reach(goal: number): Promise<void>;
  /** Arrival times (performance.now()) from now on, until stopped. */
  record(): { stop(): number[] };
  close(): Promise<void>;
}

export async function countingReceiver(): Promise<CountingReceiver> {
  let received = 0;
  let waiting: { goal: number; resolve: () => void }[] = [];
  let times: number[] | undefined;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      times?.push(performance.now());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (waiting.length > 0) {
        const done = waiting.filter((w) => w.goal <= received);
        waiting = waiting.filter((w) => w.goal > received);
        for (const w of done) w.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => received,
    reach: (goal) => (goal <= received ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ goal, resolve }))),
    record() {
      const mine: number[] = [];
      times = mine;
      return {
        stop: () => {
          times = undefined;
          return mine;
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
