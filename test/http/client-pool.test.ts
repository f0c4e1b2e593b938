import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ClientPool } from '../../src/http/client-pool.js';
import { exchange, type ExchangeResult } from '../../src/http/exchange.js';
import { waitFor } from '../helpers/wait-for.js';

const NEVER = new AbortController().signal;

/** A receiver that holds every request until told to answer, and counts sockets and requests at once. */
async function heldReceiver() {
  const held: ServerResponse[] = [];
  const ports = new Set<number>();
  const paths: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let hold = true;
  const server = createServer((req, res) => {
    ports.add(req.socket.remotePort ?? 0);
    paths.push(req.url ?? '');
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    req.resume();
    req.on('end', () => {
      const answer = (): void => {
        inFlight -= 1;
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.url}`);
      };
      if (hold) held.push(Object.assign(res, { answer }));
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    ports,
    paths,
    get held() {
      return held.length;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    release(): void {
      hold = false;
      for (const res of held.splice(0)) (res as ServerResponse & { answer: () => void }).answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const send = (pool: ClientPool, path: string, headers: string[] = ['content-type', 'text/plain']): Promise<ExchangeResult> =>
  exchange(pool, { path, method: 'POST', headers, body: 'hi', timeoutMs: 5000, signal: NEVER });

test('client pool: requests beyond its connections wait in order, and never more run at once than it has connections', async () => {
  const rx = await heldReceiver();
  const pool = new ClientPool(rx.origin, { connections: 3 });
  try {
    const results = Array.from({ length: 8 }, (_, i) => send(pool, `/r${i}`));
    await waitFor(() => rx.held === 3);
    assert.equal(pool.queued, 5);
    rx.release();
    const heads = (await Promise.all(results)).map((r) => r.head);
    assert.deepEqual(heads, Array.from({ length: 8 }, (_, i) => `ok /r${i}`));
    assert.equal(rx.maxInFlight, 3);
    assert.ok(rx.ports.size <= 3, `${rx.ports.size} sockets`);
    // Keep-alive: later requests reuse the sockets.
    for (let i = 0; i < 4; i++) await send(pool, '/again');
    assert.ok(rx.ports.size <= 3, `${rx.ports.size} sockets after reuse`);
  } finally {
    await pool.close();
    await rx.close();
  }
});

test('client pool: a request refused before it is sent (a bad header) fails alone and takes no client out of service', async () => {
  const rx = await heldReceiver();
  rx.release();
  const pool = new ClientPool(rx.origin, { connections: 1 });
  try {
    await assert.rejects(send(pool, '/bad', ['x-bad', 'a\r\nb']), /invalid/i);
    // The only client is still there for the next ones, queued behind each other.
    const [a, b] = await Promise.all([send(pool, '/a'), send(pool, '/b')]);
    assert.equal(a.head, 'ok /a');
    assert.equal(b.head, 'ok /b');
    // The same with a handler that cannot say whether its request is over (the pool looks at the client).
    const failed = await new Promise<Error>((resolve) => {
      const handler = { onConnect() {}, onHeaders: () => true, onData: () => true, onComplete() {}, onError: resolve };
      pool.dispatch({ path: '/bad', method: 'POST', headers: ['x-bad', 'a\r\nb'] }, handler as never);
    });
    assert.match(failed.message, /invalid/i);
    assert.equal((await send(pool, '/c')).head, 'ok /c');
  } finally {
    await pool.close();
    await rx.close();
  }
});

test('client pool: a request aborted while it waits for a client is never sent', async () => {
  const rx = await heldReceiver();
  const pool = new ClientPool(rx.origin, { connections: 1 });
  try {
    const running = send(pool, '/running');
    const controller = new AbortController();
    const waiting = exchange(pool, { path: '/aborted', method: 'POST', headers: [], body: 'x', timeoutMs: 5000, signal: controller.signal });
    const after = send(pool, '/after');
    await waitFor(() => rx.held === 1);
    controller.abort(new Error('lease ended'));
    await assert.rejects(waiting, /lease ended/);
    rx.release();
    assert.equal((await running).head, 'ok /running');
    assert.equal((await after).head, 'ok /after');
    assert.equal(rx.paths.includes('/aborted'), false);
  } finally {
    await pool.close();
    await rx.close();
  }
});

test('client pool: connection errors reach each request, and the pool keeps going', async () => {
  // A port nothing listens on: take one, then free it.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const pool = new ClientPool(`http://127.0.0.1:${port}`, { connections: 1 });
  try {
    const outcomes = await Promise.allSettled([send(pool, '/1'), send(pool, '/2'), send(pool, '/3')]);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.match(String((outcome as PromiseRejectedResult).reason), /ECONNREFUSED/);
    }
  } finally {
    await pool.close();
  }
});

test('client pool: close() lets queued and running requests finish; destroy() fails them; neither takes new ones', async () => {
  const rx = await heldReceiver();
  const pool = new ClientPool(rx.origin, { connections: 1 });
  const running = send(pool, '/running');
  const queued = send(pool, '/queued');
  await waitFor(() => rx.held === 1);
  const closing = pool.close();
  assert.equal(pool.closed, true);
  await assert.rejects(send(pool, '/late'), (err: Error) => err.name === 'ClientClosedError');
  rx.release();
  assert.equal((await running).head, 'ok /running');
  assert.equal((await queued).head, 'ok /queued');
  await closing;

  const rx2 = await heldReceiver();
  const doomed = new ClientPool(rx2.origin, { connections: 1 });
  // Their failures are collected as they come (destroy settles them before it resolves).
  const first = send(doomed, '/first').catch((err: Error) => err);
  const second = send(doomed, '/second').catch((err: Error) => err);
  await waitFor(() => rx2.held === 1);
  await doomed.destroy(new Error('shutting down'));
  assert.equal(doomed.destroyed, true);
  assert.match(String(await first), /shutting down/);
  assert.match(String(await second), /shutting down/);
  await assert.rejects(send(doomed, '/after'), (err: Error) => err.name === 'ClientDestroyedError');
  await rx.close();
  await rx2.close();
});

test('client pool: connections must be a positive integer', () => {
  assert.throws(() => new ClientPool('http://127.0.0.1:1', { connections: 0 }), /connections must be a positive integer/);
});

test('client pool over TLS: connect options reach every client, and an unknown certificate is refused', async (t) => {
  const fixtures = new URL('../fixtures/tls/', import.meta.url);
  const cert = readFileSync(new URL('cert.pem', fixtures));
  const server = createHttpsServer({ cert, key: readFileSync(new URL('key.pem', fixtures)) }, (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`tls ${req.url}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  // The test's own certificate authority, as a connect option of the pool.
  const trusting = new ClientPool(origin, { connections: 2, connect: { ca: cert } });
  t.after(() => trusting.close());
  const answers = await Promise.all([send(trusting, '/a'), send(trusting, '/b'), send(trusting, '/c')]);
  assert.deepEqual(answers.map((a) => a.head), ['tls /a', 'tls /b', 'tls /c']);
  // Without it the certificate is verified and refused, as every webhook's is.
  const verifying = new ClientPool(origin, { connections: 1 });
  t.after(() => verifying.close());
  await assert.rejects(send(verifying, '/x'), /self[- ]signed|certificate/i);
});
