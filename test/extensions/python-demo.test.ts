// The seed's DemoEventHandler as SFTPPlus ships it (examples/extensions/
// demo_event_handler.py, the seed's Python unchanged), run by Hookwork's
// Python runtime from the example's own config: one test per branch of its
// getConfiguration and handle. Needs python3.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { resolveEntryPoint } from '../../src/extensions/loader.js';
import type { HookworkConfig } from '../../src/config/schema.js';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { startRuntime, type TestRuntime } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/extensions/', import.meta.url));
const HANDLER = 'python-extension';
const CONFIGURATION = 'some-free-text-configuration';

let rt: TestRuntime;

before(async () => {
  const loaded = await loadConfig(`${EXAMPLE}config.yaml`);
  rt = await startRuntime(loaded.config, loaded.baseDir);
});

after(async () => {
  await rt.close();
});

/** Events handle() finished in the Python worker processes. */
const pythonHandled = (on: TestRuntime): number => on.runtime.services.extensions?.python.pool.stats.completed ?? 0;

/** Emits as `account`, waits until the handler is done with it, returns what it emitted for that account. */
async function send(on: TestRuntime, account: string, id = '1000', extra: { token?: string } = {}): Promise<HookworkEvent[]> {
  const handledBefore = pythonHandled(on);
  const source = await on.runtime.host.emit(id, { account: { name: account, uuid: `uuid-${account}`, ...extra }, data: {} });
  await on.runtime.services.extensions?.idle();
  // Branches that reach handle() ran it in a Python worker, not in a thread.
  const reachesHandle = !['fail-user', 'someone-1234', 'skip-user', 'skip-emit', 'error-user'].includes(account);
  assert.equal(pythonHandled(on), handledBefore + (reachesHandle ? 1 : 0), `Python handle() calls for ${account}`);
  return on.from(HANDLER).filter((e) => e.account.name === account || e.data['event_uuid'] === source.uuid);
}

const DEFAULT_EVENTS = [
  [ENGINE_EVENTS.success, 'Handling started.'],
  [ENGINE_EVENTS.info, 'Default ID is 20200 as informational.'],
];

describe('DemoEventHandler in Python (the seed, unchanged)', () => {
  test("the seed's python: entry point runs demo_event_handler.py in a Python main process", () => {
    const entry = rt.runtime.services.extensions?.handler(HANDLER)?.config.entry_point ?? '';
    assert.equal(entry, 'python:extensions.demo_event_handler.DemoEventHandler');
    assert.equal(resolveEntryPoint(HANDLER, entry, EXAMPLE).language, 'python');
    const info = rt.runtime.services.extensions?.get(HANDLER);
    assert.equal(info?.state, 'started', JSON.stringify(info?.lastError));
    assert.equal(info?.uuid, '56df1d0a-78c6-11e9-a2ff-137be4dbb9a8');
    assert.deepEqual(info?.targets, ['*']);
  });

  test('fail-user: getConfiguration raises, the event is rejected with a 20174 carrying the Python traceback', async () => {
    const emitted = await send(rt, 'fail-user');
    assert.equal(emitted.length, 1);
    const failure = emitted[0] as HookworkEvent;
    assert.equal(failure.id, ENGINE_EVENTS.handlerFailed);
    assert.equal(failure.data['handler'], HANDLER);
    assert.equal(failure.data['stage'], 'getConfiguration');
    assert.equal(failure.data['reason'], 'rejected');
    assert.equal(failure.data['error'], 'Rejected event.');
    assert.match(String(failure.data['stack']), /^Traceback \(most recent call last\):\n[\s\S]*demo_event_handler\.py", line 75, in getConfiguration\n[\s\S]*RuntimeError: Rejected event\.\n$/);
    assert.equal(rt.runtime.services.extensions?.get(HANDLER)?.state, 'started');
  });

  test('event id 1234 is rejected the same way', async () => {
    const emitted = await send(rt, 'someone-1234', '1234');
    assert.deepEqual(emitted.map((e) => [e.id, e.data['error'], e.data['event_id']]), [[ENGINE_EVENTS.handlerFailed, 'Rejected event.', '1234']]);
  });

  test('skip-user: None skips; nothing is handled or emitted', async () => {
    const before = rt.runtime.services.extensions?.get(HANDLER)?.counters;
    const emitted = await send(rt, 'skip-user');
    assert.deepEqual(emitted, []);
    const after = rt.runtime.services.extensions?.get(HANDLER)?.counters;
    assert.equal(after?.skipped, (before?.skipped ?? 0) + 1);
    assert.equal(after?.delayed, before?.delayed, 'an answer from the main process is not a delay');
  });

  test('skip-emit: (None, event) skips and emits the event with its extra attribute', async () => {
    const emitted = await send(rt, 'skip-emit');
    assert.deepEqual(emitted.map((e) => [e.id, e.message, e.data['extra']]), [[ENGINE_EVENTS.info, 'Handling skipped.', 'skip-emit']]);
  });

  test('error-user: (None, 20202 event) emits the failure event with message, details and tb', async () => {
    const emitted = await send(rt, 'error-user');
    assert.equal(emitted.length, 1);
    const failure = emitted[0] as HookworkEvent;
    assert.equal(failure.id, ENGINE_EVENTS.failure);
    assert.equal(failure.message, 'Can be a generic description for the error case.');
    assert.equal(failure.data['details'], 'Can contain details specific to this error. Example a path to a file.');
    assert.equal(failure.data['tb'], 'Can include option traceback info as text.');
  });

  test('inactive-user: (configuration, [events]) emits both events, then the text handle() returns is a 20200', async () => {
    const emitted = await send(rt, 'inactive-user');
    assert.deepEqual(emitted.map((e) => [e.id, e.message]), [...DEFAULT_EVENTS, [ENGINE_EVENTS.info, 'Extension is not active from this user.']]);
  });

  test('ignored-user: handle() returns nothing, so nothing past getConfiguration is emitted', async () => {
    const before = rt.runtime.services.extensions?.get(HANDLER)?.counters.handled ?? 0;
    const emitted = await send(rt, 'ignored-user');
    assert.deepEqual(emitted.map((e) => [e.id, e.message]), DEFAULT_EVENTS);
    assert.equal(rt.runtime.services.extensions?.get(HANDLER)?.counters.handled, before + 1);
  });

  test('test@proatria.onmicrosoft.com without the grant: the token reads as None', async () => {
    const emitted = await send(rt, 'test@proatria.onmicrosoft.com', '1000', { token: 'secret-token' });
    assert.deepEqual(emitted.map((e) => e.message).slice(2), ['Entra ID token: None']);
  });

  test('default path: the list handle() returns becomes three events; the event reads by attribute and dumps as JSON', async () => {
    const source = await rt.runtime.host.emit('1000', {
      account: { name: 'alice', uuid: 'uuid-alice', token: 'never-shown' },
      component: { uuid: 'c-1', name: 'sftp-service', type: 'sftp' },
      data: { path: '/in/report.csv', size: 42 },
    });
    await rt.runtime.services.extensions?.idle();
    const emitted = rt.from(HANDLER).filter((e) => e.account.name === 'alice');
    assert.deepEqual(
      emitted.map((e) => [e.id, e.id === ENGINE_EVENTS.success && e.message.startsWith('Received') ? 'output' : e.message]),
      [...DEFAULT_EVENTS, [ENGINE_EVENTS.info, 'A simple message.'], [ENGINE_EVENTS.info, 'state'], [ENGINE_EVENTS.success, 'output']],
    );
    assert.equal(emitted[3]?.data['value'], 'OK');
    const last = emitted[4] as HookworkEvent;
    assert.equal(last.data['extra'], CONFIGURATION);
    const output = last.message;
    assert.ok(output.startsWith('Received new event for DemoEventHandler\n{\n'), output);
    // json.dumps(event, indent=2): the worker's copy, with data_json and no token.
    const eventJson = output.slice(output.indexOf('{'), output.indexOf('\n-----------------\n'));
    const parsed = JSON.parse(eventJson) as Record<string, unknown>;
    assert.equal(parsed['uuid'], source.uuid);
    assert.deepEqual(JSON.parse(String(parsed['data_json'])), source.data);
    assert.equal((parsed['account'] as Record<string, unknown>)['token'], undefined);
    assert.equal(output.includes('never-shown'), false);
    assert.match(output, new RegExp(`configuration: ${CONFIGURATION}\n`));
    // {event.timestamp.timestamp:f}: a float, formatted with six decimals.
    assert.match(output, new RegExp(`\nid: 1000\naccount: alice\nat: ${source.timestamp.timestamp.toFixed(6).replace('.', '\\.')}\nfrom: sftp-service\n`));
    assert.ok(output.includes(`data: ${JSON.stringify(source.data, null, 2)}\n---\n`), output);
    assert.equal(last.account.uuid, 'uuid-alice');
    assert.equal(last.component.uuid, '56df1d0a-78c6-11e9-a2ff-137be4dbb9a8');
  });
});

/** The example config with changes to its one handler and its pool. */
async function exampleWith(handler: Record<string, unknown>, pool: Record<string, unknown> = {}): Promise<TestRuntime> {
  const loaded = await loadConfig(`${EXAMPLE}config.yaml`);
  const config: HookworkConfig = {
    ...loaded.config,
    extensions: { ...loaded.config.extensions, pool: { ...loaded.config.extensions.pool, ...pool } },
    handlers: loaded.config.handlers.map((h) => ({ ...h, ...handler }) as HookworkConfig['handlers'][number]),
  };
  return startRuntime(config, loaded.baseDir);
}

describe('DemoEventHandler in Python: delay and grants', () => {
  test('delay-user: parent.delay(0.5, fn) holds no worker (a pool of one serves another event meanwhile), then fn decides', async () => {
    const local = await exampleWith({}, { size: 1 });
    try {
      const delayed = await local.runtime.host.emit('1000', { account: { name: 'delay-user' } });
      await local.runtime.host.emit('1000', { account: { name: 'inactive-user' } });
      await local.runtime.services.extensions?.idle();
      const results = local.from(HANDLER).filter((e) => e.message.startsWith('Received') || e.message.startsWith('Extension is not active'));
      assert.deepEqual(results.map((e) => e.account.name), ['inactive-user', 'delay-user']);
      const handled = results[1] as HookworkEvent;
      assert.match(handled.message, /configuration: delayed-configuration\n/);
      assert.equal(handled.data['extra'], 'delayed-configuration');
      assert.ok(handled.timestamp.timestamp - delayed.timestamp.timestamp >= 0.45, 'handled after the 0.5 s delay');
      assert.equal(local.runtime.services.extensions?.get(HANDLER)?.counters.delayed, 1);
    } finally {
      await local.close();
    }
  });

  test('test@proatria.onmicrosoft.com with grants: [account.token]: handle() reads event.account.token', async () => {
    const local = await exampleWith({ grants: ['account.token'] });
    try {
      const emitted = await send(local, 'test@proatria.onmicrosoft.com', '1000', { token: 'entra-token-1' });
      assert.deepEqual(emitted.map((e) => e.message).slice(2), ['Entra ID token: entra-token-1']);
    } finally {
      await local.close();
    }
  });

  test("the seed's INI config starts the same Python handler", async () => {
    const loaded = await loadConfig(`${EXAMPLE}config.ini`);
    const local = await startRuntime(loaded.config, loaded.baseDir);
    try {
      assert.equal(local.runtime.services.extensions?.get(HANDLER)?.state, 'started');
      const emitted = await send(local, 'inactive-user');
      assert.ok(emitted.some((e) => e.message === 'Extension is not active from this user.'));
    } finally {
      await local.close();
    }
  });
});
