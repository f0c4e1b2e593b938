// The gate latency histogram times one chain in 8 per gate point (two clock
// reads cost about a tenth of a quick chain); decisions are counted in full.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHost, silentLogger } from '../../src/index.js';
import { PrometheusMetrics } from '../../src/metrics/prometheus.js';

function value(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

test('16 chains of one gate point: 16 decisions counted, 2 chains timed (the first of each 8)', async () => {
  const metrics = new PrometheusMetrics();
  const host = createHost({ logger: silentLogger(), metrics, gates: { 'pre-upload': {} } });
  try {
    host.onGate('pre-upload', () => undefined);
    for (let i = 0; i < 16; i++) await host.gate('pre-upload', {});
    const text = await metrics.scrape();
    assert.equal(value(text, 'hookwork_gate_decisions_total{gate="pre-upload",verdict="allow"}'), 16);
    assert.equal(value(text, 'hookwork_gate_duration_seconds_count{gate="pre-upload"}'), 2);
  } finally {
    await host.close();
  }
});
