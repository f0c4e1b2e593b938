// `metrics.listen`: /metrics on a listener of its own (open, no token), for a
// scraper on a private interface while the gateway's port faces clients.
// A plain node:http server: it serves one route, nothing else.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';

export interface MetricsListener {
  /** http://host:port once listening. */
  readonly url: string;
  close(): Promise<void>;
}

/** Splits "host:port" ("[::1]:9464" for IPv6); the schema already checked its form. */
function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(at + 1)) };
}

export async function startMetricsListener(metrics: PrometheusMetrics, listen: string, logger: Logger): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'HKW_ERR_NOT_FOUND', message: `No route ${request.method ?? ''} ${path ?? ''}; this listener serves GET /metrics only.` }));
      return;
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        logger.error({ err }, 'Building the metrics failed');
        response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'HKW_ERR_INTERNAL', message: 'Internal error; see the gateway log.' }));
      },
    );
  });
  const { host, port } = splitListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
