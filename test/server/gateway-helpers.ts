// Shared set-up for the gateway tests: a real runtime and a real listening
// gateway on 127.0.0.1 (port 0), with state in a throwaway folder.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/server/gateway.js';

export interface TestGateway {
  readonly runtime: Runtime;
  readonly gateway: Gateway;
  readonly url: string;
  close(): Promise<void>;
}

export async function startGateway(
  config: HookworkConfigInput = {},
  beforeListen?: (gateway: Gateway) => void | Promise<void>,
  options: Pick<GatewayOptions, 'console'> = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'hookwork-gateway-'));
  const runtime = await createRuntime({
    config: { ...config, server: { data_dir: join(dir, 'data'), ...config.server } },
    baseDir: dir,
    logger: silentLogger(),
  });
  const gateway = await createGateway(runtime, { ...options, port: 0, host: '127.0.0.1' });
  if (beforeListen !== undefined) await beforeListen(gateway);
  const url = await gateway.listen();
  return {
    runtime,
    gateway,
    url,
    async close() {
      await gateway.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonReply {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** Sends a request and parses the JSON reply (every gateway reply is JSON). */
export async function send(
  url: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { json?: unknown; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<JsonReply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
}

/**
 * Writes `text` as is to the gateway's socket and resolves with everything
 * it answers until it closes the connection (for requests no HTTP client
 * would send: malformed request lines, oversized headers).
 */
export async function rawRequest(url: string, text: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { connect } = await import('node:net');
  const { hostname, port } = new URL(url);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(text));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('close', () => resolve(out));
    socket.on('error', (err) => (out === '' ? reject(err) : resolve(out)));
  });
  const [head = '', body = ''] = answer.split('\r\n\r\n', 2);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

/** `value` wrapped in `depth` arrays (`[[[value]]]`), or objects (`{"a":{"a":value}}`), as JSON text, built without recursion. */
export function nestedJson(depth: number, kind: 'array' | 'object', value = '1'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${value}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}${value}${'}'.repeat(depth)}`;
}
