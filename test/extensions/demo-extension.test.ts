// The seed's DemoEventHandler in TypeScript (examples/extensions/
// demo-event-handler.ts), one test per branch, configured from the example's
// own config files with the entry point pointed at the TypeScript module
// (the seed's python: spelling runs demo_event_handler.py: python-demo.test.ts).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig as loadExampleConfig } from '../../src/config/load.js';
import type { HookworkConfig } from '../../src/config/schema.js';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { startRuntime, type TestRuntime } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/extensions/', import.meta.url));
const HANDLER = 'python-extension';
const CONFIGURATION = 'some-free-text-configuration';

let rt: TestRuntime;

/** The example's config, its handler on the TypeScript demo. */
async function loadConfig(file: string): Promise<{ config: HookworkConfig; baseDir: string }> {
  const loaded = await loadExampleConfig(file);
  const handlers = loaded.config.handlers.map((h) => (h.type === 'extension' ? { ...h, entry_point: 'demo-event-handler.ts#DemoEventHandler' } : h));
  return { config: { ...loaded.config, handlers }, baseDir: loaded.baseDir };
}

before(async () => {
  const loaded = await loadConfig(`${EXAMPLE}config.yaml`);
  rt = await startRuntime(loaded.config, loaded.baseDir);
});

after(async () => {
  await rt.close();
});

/** Emits as `account`, waits until the handler is done with it, returns what it emitted for that account. */
async function send(account: string, id = '1000', data: Record<string, unknown> = {}): Promise<HookworkEvent[]> {
  const source = await rt.runtime.host.emit(id, { account: { name: account, uuid: `uuid-${account}` }, data });
  await rt.runtime.services.extensions?.idle();
  return rt.from(HANDLER).filter((e) => e.account.name === account || e.data['event_uuid'] === source.uuid);
}

describe('DemoEventHandler (seed example)', () => {
  test('is started from the example config (its entry point pointed at the .ts module)', () => {
    const [info] = rt.runtime.services.extensions?.list() ?? [];
    assert.equal(info?.name, HANDLER);
    assert.equal(info?.state, 'started');
    assert.equal(info?.uuid, '56df1d0a-78c6-11e9-a2ff-137be4dbb9a8');
    assert.deepEqual(info?.targets, ['*']);
  });

  test('fail-user: getConfiguration throws, the event is rejected with a failure event', async () => {
    const emitted = await send('fail-user');
    assert.equal(emitted.length, 1);
    const failure = emitted[0] as HookworkEvent;
    assert.equal(failure.id, ENGINE_EVENTS.handlerFailed);
    assert.equal(failure.data['handler'], HANDLER);
    assert.equal(failure.data['stage'], 'getConfiguration');
    assert.equal(failure.data['error'], 'Rejected event.');
    assert.match(String(failure.data['stack']), /Error: Rejected event\.\n\s+at /);
    assert.equal(failure.data['event_id'], '1000');
  });

  test('event id 1234 is rejected the same way', async () => {
    const emitted = await send('someone-1234', '1234');
    assert.deepEqual(emitted.map((e) => [e.id, e.data['error'], e.data['event_id']]), [[ENGINE_EVENTS.handlerFailed, 'Rejected event.', '1234']]);
  });

  test('skip-user: nothing is handled or emitted', async () => {
    const before = rt.runtime.services.extensions?.get(HANDLER)?.counters.skipped ?? 0;
    const emitted = await send('skip-user');
    assert.deepEqual(emitted, []);
    assert.equal(rt.runtime.services.extensions?.get(HANDLER)?.counters.skipped, before + 1);
  });

  test('skip-emit: skipped, and its event emitted with the extra attribute', async () => {
    const emitted = await send('skip-emit');
    assert.deepEqual(emitted.map((e) => [e.id, e.message, e.data['extra']]), [[ENGINE_EVENTS.info, 'Handling skipped.', 'skip-emit']]);
  });

  test('error-user: a 20202 failure event with message and details', async () => {
    const emitted = await send('error-user');
    assert.equal(emitted.length, 1);
    const failure = emitted[0] as HookworkEvent;
    assert.equal(failure.id, ENGINE_EVENTS.failure);
    assert.equal(failure.message, 'Can be a generic description for the error case.');
    assert.equal(failure.data['details'], 'Can contain details specific to this error. Example a path to a file.');
    assert.equal(failure.data['tb'], 'Can include option traceback info as text.');
  });

  test('inactive-user: the text handle() returns is emitted as an informational event', async () => {
    const emitted = await send('inactive-user');
    // The two events of getConfiguration's default path come first.
    assert.deepEqual(
      emitted.map((e) => [e.id, e.message]),
      [
        [ENGINE_EVENTS.success, 'Handling started.'],
        [ENGINE_EVENTS.info, 'Default ID is 20200 as informational.'],
        [ENGINE_EVENTS.info, 'Extension is not active from this user.'],
      ],
    );
  });

  test('ignored-user: handle() returns nothing, so nothing past getConfiguration is emitted', async () => {
    const emitted = await send('ignored-user');
    assert.deepEqual(emitted.map((e) => e.message), ['Handling started.', 'Default ID is 20200 as informational.']);
    assert.ok((rt.runtime.services.extensions?.get(HANDLER)?.counters.handled ?? 0) >= 1);
  });

  test('default path: two events from getConfiguration, then the three from handle()', async () => {
    const source = await rt.runtime.host.emit('1000', {
      account: { name: 'alice', uuid: 'uuid-alice' },
      component: { uuid: 'c-1', name: 'sftp-service', type: 'sftp' },
      data: { path: '/in/report.csv', size: 42 },
    });
    await rt.runtime.services.extensions?.idle();
    const emitted = rt.from(HANDLER).filter((e) => e.account.name === 'alice');
    assert.deepEqual(
      emitted.map((e) => [e.id, e.id === ENGINE_EVENTS.success && e.message.startsWith('Received') ? 'output' : e.message]),
      [
        [ENGINE_EVENTS.success, 'Handling started.'],
        [ENGINE_EVENTS.info, 'Default ID is 20200 as informational.'],
        [ENGINE_EVENTS.info, 'A simple message.'],
        [ENGINE_EVENTS.info, 'state'],
        [ENGINE_EVENTS.success, 'output'],
      ],
    );
    assert.equal(emitted[3]?.data['value'], 'OK');
    const last = emitted[4] as HookworkEvent;
    assert.equal(last.data['extra'], CONFIGURATION);
    const output = last.message;
    assert.ok(output.startsWith('Received new event for DemoEventHandler\n{\n'), output);
    // The event as JSON: the worker's copy, with data_json and no token.
    const eventJson = output.slice(output.indexOf('{'), output.indexOf('\n-----------------\n'));
    const parsed = JSON.parse(eventJson) as Record<string, unknown>;
    assert.equal(parsed['uuid'], source.uuid);
    assert.equal(parsed['data_json'], JSON.stringify(source.data));
    assert.match(output, new RegExp(`configuration: ${CONFIGURATION}\n`));
    assert.match(output, /\nid: 1000\naccount: alice\nat: \d+\.\d{6}\nfrom: sftp-service\n/);
    assert.ok(output.includes(`data: ${JSON.stringify(source.data, null, 2)}\n---\n`), output);
    // Results carry the source account and name the handler as their component.
    assert.equal(last.account.uuid, 'uuid-alice');
    assert.equal(last.component.uuid, '56df1d0a-78c6-11e9-a2ff-137be4dbb9a8');
  });
});

describe('DemoEventHandler delay-user', () => {
  test('is handled about 0.5 s later without holding a worker (pool of 1 serves another event meanwhile)', async () => {
    const loaded = await loadConfig(`${EXAMPLE}config.yaml`);
    const local = await startRuntime(
      { ...loaded.config, extensions: { ...loaded.config.extensions, pool: { ...loaded.config.extensions.pool, size: 1 } } },
      loaded.baseDir,
    );
    try {
      assert.equal(local.runtime.services.extensions?.stats().size, 1);
      const delayed = await local.runtime.host.emit('1000', { account: { name: 'delay-user' } });
      await local.runtime.host.emit('1000', { account: { name: 'inactive-user' } });
      await local.runtime.services.extensions?.idle();
      const results = local.from(HANDLER).filter((e) => e.message.startsWith('Received') || e.message.startsWith('Extension is not active'));
      // The event sent second was handled first: the only worker was free while delay-user waited.
      assert.deepEqual(results.map((e) => e.account.name), ['inactive-user', 'delay-user']);
      const handled = results[1] as HookworkEvent;
      assert.match(handled.message, /configuration: delayed-configuration\n/);
      assert.equal(handled.data['extra'], 'delayed-configuration');
      assert.ok(handled.timestamp.timestamp - delayed.timestamp.timestamp >= 0.45, 'handled after the 0.5 s delay');
    } finally {
      await local.close();
    }
  });
});

describe('DemoEventHandler from the INI form', () => {
  test("the seed's INI config starts the same handler", async () => {
    const loaded = await loadConfig(`${EXAMPLE}config.ini`);
    const local = await startRuntime(loaded.config, loaded.baseDir);
    try {
      const [info] = local.runtime.services.extensions?.list() ?? [];
      assert.equal(info?.state, 'started');
      assert.equal(info?.name, HANDLER);
      await local.runtime.host.emit('1000', { account: { name: 'inactive-user' } });
      await local.runtime.services.extensions?.idle();
      assert.ok(local.from(HANDLER).some((e) => e.message === 'Extension is not active from this user.'));
    } finally {
      await local.close();
    }
  });
});
