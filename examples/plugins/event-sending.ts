// LUNA's event-sending plugin: what handlers produce (with the request's
// context) goes to a third-party store. start() creates the bucket (201 or
// 409 are fine; anything else fails the start, so the plugin is marked
// failed); every sending record becomes one POST.

import { request } from 'undici';
import { z } from 'zod';
import { definePlugin, eventToJSON } from '../../src/index.js';

const configSchema = z.object({
  url: z.url().default('http://127.0.0.1:5020/1/buckets'),
  bucket: z.string().min(1).default('plugin_test_bucket'),
});

export const plugin = definePlugin({
  name: 'event-sending',
  version: '1.0.0',
  configSchema,
  setup(ctx) {
    const { url, bucket } = ctx.config;
    ctx.onSending(async (record) => {
      ctx.logger.debug({ request: record.requestId }, `Got ${record.events.length} events from handler ${record.handlerId}`);
      const res = await request(`${url}/${bucket}/objects`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          handler_id: record.handlerId,
          account_id: record.accountId,
          'Luna-Request-Id': record.requestId,
          events: record.events.map((event) => eventToJSON(event)),
          event_create_time: record.createEventTime,
          event_end_time: record.endEventTime,
        }),
        signal: ctx.signal,
      });
      await res.body.dump();
      ctx.logger.debug({ status: res.statusCode }, 'Sent events');
    });
    return {
      async start() {
        const res = await request(`${url}?bucket=${encodeURIComponent(bucket)}`, { method: 'POST', signal: ctx.signal });
        const body = await res.body.text();
        if (res.statusCode !== 201 && res.statusCode !== 409) {
          throw new Error(`failed to create bucket ${bucket}, response: ${res.statusCode} ${body}`);
        }
      },
    };
  },
});
