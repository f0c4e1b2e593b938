import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import { createHost, emitEngineEvent } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureLogger } from '../helpers/capture-logger.js';

test('emitEngineEvent emits while the host is open, and nothing once it is closed', async () => {
  const host = createHost({ logger: silentLogger() });
  const seen: HookworkEvent[] = [];
  host.on(ENGINE_EVENTS.info, (event) => void seen.push(event));
  const log = captureLogger();
  emitEngineEvent(host, ENGINE_EVENTS.info, { data: { message: 'open' } }, log);
  await waitFor(() => seen.length === 1, { what: 'the event emitted while open' });
  assert.equal(seen[0]?.data['message'], 'open');
  await host.close();
  emitEngineEvent(host, ENGINE_EVENTS.info, { data: { message: 'closed' } }, log);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen.length, 1);
  assert.deepEqual(log.lines, [], 'a closed host is no failure: nothing is logged');
});

test('a failed emit is logged with its event id, never thrown', async () => {
  const log = captureLogger();
  const failing = { closed: false, emit: () => Promise.reject(new Error('store down')) };
  assert.doesNotThrow(() => emitEngineEvent(failing, ENGINE_EVENTS.deliveryFailed, { data: {} }, log));
  await waitFor(() => log.lines.length === 1, { what: 'the failure to be logged' });
  assert.equal(log.lines[0]?.level, 'warn');
  assert.equal(log.lines[0]?.obj['event'], ENGINE_EVENTS.deliveryFailed);
  assert.equal((log.lines[0]?.obj['err'] as Error).message, 'store down');
});
