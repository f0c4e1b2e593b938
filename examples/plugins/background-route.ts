// LUNA's background plugin: watches the service's resources in the
// background (a schedule samples memory every few seconds) and serves what
// it saw on a custom route, GET /plugins/resources/ on the gateway. It also
// counts the events going by, showing an event and a background plugin
// working together.

import { definePlugin, respond } from '../../src/index.js';

interface Sample {
  readonly at: string;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

export const plugin = definePlugin({
  name: 'resources',
  version: '1.0.0',
  setup(ctx) {
    const samples: Sample[] = [];
    let events = 0;
    const sample = (): void => {
      const memory = process.memoryUsage();
      samples.push({ at: new Date().toISOString(), rssBytes: memory.rss, heapUsedBytes: memory.heapUsed });
      if (samples.length > 60) samples.shift();
    };
    ctx.on('*', () => {
      events++;
    });
    ctx.schedule('*/5 * * * * *', sample, { name: 'sample-memory' });
    ctx.route('GET', '/', () => ({ events, samples: samples.length, last: samples.at(-1) ?? null }));
    ctx.route('POST', '/sample', () => {
      sample();
      return respond(201, samples.at(-1));
    }, { access: 'operator' });
  },
});
