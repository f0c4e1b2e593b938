// A real HTTP receiver on 127.0.0.1 (port 0) that records every request and
// answers with whatever the test scripts.

import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach } from 'node:test';
import { waitFor } from './wait-for.js';

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
      await waitFor(() => requests.length >= count, { timeoutMs, what: `${count} requests` }).catch((err: Error) => {
        throw new Error(`${err.message}: got ${requests.length}`);
      });
      return requests;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A receiver for one test, closed when the test ends. */
export async function testReceiver(t: { after(fn: () => Promise<void>): void }): Promise<Receiver> {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  return receiver;
}

/** An attempt context for calling targets directly. */
export function attemptContext(webhookId = 'msg_test', attempt = 1): { webhookId: string; attempt: number; signal: AbortSignal } {
  return { webhookId, attempt, signal: new AbortController().signal };
}

/**
 * The receiver of a test file: started before its tests, emptied and set back
 * to 200 "ok" before each, closed after them. The returned handle forwards to
 * it, so tests use it directly (reading it before the file's `before` hooks
 * ran is a mistake and throws).
 */
export function useReceiver(): Receiver {
  let receiver: Receiver | undefined;
  before(async () => {
    receiver = await startReceiver();
  });
  beforeEach(() => {
    if (receiver === undefined) return;
    receiver.requests.length = 0;
    receiver.respond((_r, res) => res.writeHead(200).end('ok'));
  });
  after(() => receiver?.close());
  const started = (): Receiver => {
    if (receiver === undefined) throw new Error('useReceiver(): the receiver starts in a before hook; use it inside tests');
    return receiver;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get requests() {
      return started().requests;
    },
    respond: (responder) => started().respond(responder),
    waitFor: (count, timeoutMs) => started().waitFor(count, timeoutMs),
    close: () => started().close(),
  };
}
