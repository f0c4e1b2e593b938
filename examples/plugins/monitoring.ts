// LUNA's request-monitoring plugin: monitoring points (one per hook call,
// handler run and delivery attempt) are batched and shipped to an HTTP
// endpoint (an InfluxDB-style collector). The shipping loop is a task: it
// wakes on a full batch or every flush interval, and sends what is left
// when the plugin stops.

import { request } from 'undici';
import { z } from 'zod';
import { definePlugin, type MonitoringPoint } from '../../src/index.js';

const configSchema = z.object({
  url: z.url(),
  batch_size: z.number().int().positive().default(100),
  flush_interval_ms: z.number().int().positive().default(1000),
});

export const plugin = definePlugin({
  name: 'monitoring',
  version: '1.0.0',
  description: 'Batches monitoring points and POSTs them as JSON to an HTTP collector.',
  configSchema,
  setup(ctx) {
    const { url, batch_size: batchSize, flush_interval_ms: flushMs } = ctx.config;
    let buffer: MonitoringPoint[] = [];
    let wake: (() => void) | undefined;

    const ship = async (): Promise<void> => {
      if (buffer.length === 0) return;
      const points = buffer;
      buffer = [];
      try {
        const res = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: ctx.host.server.name, points }),
        });
        await res.body.dump();
        if (res.statusCode >= 300) ctx.logger.warn({ status: res.statusCode }, 'The collector refused a batch');
      } catch (err) {
        ctx.logger.warn({ err }, `Could not ship ${points.length} monitoring points`);
      }
    };

    ctx.onMonitoring((batch) => {
      buffer.push(...batch);
      if (buffer.length >= batchSize) wake?.();
    });

    ctx.task(async (signal) => {
      // One abort listener for the whole task (not one per pass, which would
      // pile up): it wakes whichever wait is current.
      signal.addEventListener('abort', () => wake?.(), { once: true });
      while (!signal.aborted) {
        if (buffer.length < batchSize) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              wake = undefined;
              resolve();
            }, flushMs);
            wake = () => {
              wake = undefined;
              clearTimeout(timer);
              resolve();
            };
          });
        }
        await ship();
      }
    }, { name: 'ship-monitoring' });

    return {
      // stop() runs first, before the task's signal aborts (the plugin's
      // scope, task included, is disposed after stop()): it ships what is
      // buffered; the task then wakes on its abort, ships whatever was
      // recorded since, and ends.
      stop: () => ship(),
    };
  },
});
