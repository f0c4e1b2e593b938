// A real HTTP receiver on 127.0.0.1 (port 0) that records every request and
// answers with whatever the test scripts.

import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach } from 'node:test';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Responder = (request: ReceivedRequest, res: ServerResponse) => void;

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Sets how the next requests are answered (default: 200 "ok"). */
  respond(responder: Responder): void;
  /** Waits (bounded) until `count` requests arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let responder: Responder = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(record);
      responder(record, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respond(fn) {
      responder = fn;
    },
    async waitFor(count, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > until) throw new Error(`Expected ${count} requests, got ${requests.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return requests;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` until it returns true (bounded). */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An attempt context for calling targets directly. */
export function attemptContext(webhookId = 'msg_test', attempt = 1): { webhookId: string; attempt: number; signal: AbortSignal } {
  return { webhookId, attempt, signal: new AbortController().signal };
}

/**
 * One receiver for a test file: started before its tests, emptied and set
 * back to 200 "ok" before each, closed after them; `use` gets it once started.
 */
export function useReceiver(use: (receiver: Receiver) => void): void {
  let receiver: Receiver | undefined;
  before(async () => {
    receiver = await startReceiver();
    use(receiver);
  });
  beforeEach(() => {
    if (receiver === undefined) return;
    receiver.requests.length = 0;
    receiver.respond((_r, res) => res.writeHead(200).end('ok'));
  });
  after(() => receiver?.close());
}
