// `hookwork serve` exports traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_TRACES_EXPORTER=otlp) is
// set, and flushes on shutdown. A plain HTTP server on 127.0.0.1 is the collector.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tracesRequested } from '../../src/cli/otel.js';
import { hookwork, listeningUrl } from '../helpers/hookwork-cli.js';
import { send } from '../server/gateway-helpers.js';

test('trace export is asked for by the standard variables only', () => {
  assert.equal(tracesRequested({}), false);
  assert.equal(tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
  assert.equal(tracesRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
  assert.equal(tracesRequested({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
  assert.equal(tracesRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), false);
  assert.equal(tracesRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), false);
});

test('hookwork serve sends the spans of a request to the OTLP/HTTP endpoint, in the trace of the incoming traceparent', async (t) => {
  const posts: Array<{ url: string; type: string; body: string }> = [];
  const collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', type: String(req.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => collector.close(() => r())));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  const cwd = await mkdtemp(join(tmpdir(), 'hookwork-otel-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));

  const server = hookwork(['serve', '--port', '0', '--host', '127.0.0.1'], cwd, {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  });
  try {
    const url = await listeningUrl(server);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const reply = await send(url, 'POST', '/v1/events', {
      json: { id: 20200, data: { message: 'traced' } },
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    assert.equal(reply.status, 202);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.stderr());
    // Flushed on shutdown: the batch reached the collector before the process ended.
    const traces = posts.filter((p) => p.url === '/v1/traces');
    assert.ok(traces.length > 0, `a POST to /v1/traces (got ${posts.map((p) => p.url).join(', ') || 'none'})`);
    assert.match(traces[0]?.type ?? '', /application\/json/);
    const all = traces.map((p) => p.body).join('\n');
    assert.ok(all.includes(traceId), 'the spans carry the trace id of the incoming traceparent');
    assert.ok(all.includes('POST /v1/events'), 'the request span');
    assert.ok(all.includes('emit 20200'), 'the emit span');
    assert.ok(all.includes('"hookwork"'), 'service.name');
  } finally {
    server.child.kill('SIGKILL');
  }
});
