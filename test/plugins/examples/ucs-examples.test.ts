// The UCS seed examples, in TypeScript, against the demo host.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_AUX, AGENT_OFFLINE, AGENT_READY, type AgentStatus } from '../../../examples/plugins/demo-host.js';
import { EXAMPLES, startDemo } from './demo.js';
import { waitFor } from '../../helpers/wait-for.js';

test('the examples folder discovers every example and skips the demo host (no plugin export)', async (t) => {
  const { manager, messages } = await startDemo(t, []);
  const names = (await manager.discover()).map((p) => p.name);
  assert.deepEqual(names, ['event-sending', 'lunch-watch', 'middleware', 'monitoring', 'resources', 'shared-data-hook', 'status-hook']);
  assert.ok(messages('debug').some((m) => m.includes(`${EXAMPLES}demo-host.ts exports no plugin`)));
});

test('lunch-watch: a callback on status changes and a background loop that reports agents at lunch', async (t) => {
  const { demo, manager, messages } = await startDemo(t, ['lunch-watch'], { 'lunch-watch': { interval_ms: 10 } });
  await demo.setAgentStatus(2, AGENT_AUX, 'Oběd');
  await demo.host.idle();
  assert.deepEqual(messages('info', 'lunch-watch'), ['Agent Petr Svoboda odešel na oběd']);
  await waitFor(() => messages('info', 'lunch-watch').includes('Agent Petr Svoboda je na obědě'), 'the loop reports the agent at lunch');
  assert.equal(manager.get('lunch-watch')?.registrations['task'], 1);
  await manager.unload('lunch-watch');
  // The callback went with the plugin, although the class has no stop().
  const before = messages('info', 'lunch-watch').length;
  await demo.setAgentStatus(1, AGENT_AUX, 'Oběd');
  await demo.host.idle();
  assert.equal(messages('info', 'lunch-watch').length, before);
  assert.equal(demo.host.notifier.size, 0);
});

test('status-hook: modify, block with a reason, block by throwing, fall back on an unexpected error', async (t) => {
  let hour = 12;
  const clock = (): Date => new Date(2024, 0, 15, hour, 30);
  const { demo, manager, logger } = await startDemo(t, ['status-hook'], { 'status-hook': { clock } });

  // Modify: logging in (offline → ready) goes to a briefing first.
  assert.equal(demo.agent(1)?.status, AGENT_OFFLINE);
  const briefed = await demo.setAgentStatus(1, AGENT_READY);
  assert.deepEqual([briefed.status, briefed.reason], [AGENT_AUX, 'Seznámení se z provozními pokyny']);

  // Block with a reason (block()): too early for lunch.
  hour = 9;
  await assert.rejects(demo.setAgentStatus(2, AGENT_AUX, 'Oběd'), { code: 'HKW_ERR_CHANGE_BLOCKED', message: 'Na oběd je příliš brzy' });
  assert.equal(demo.agent(2)?.status, AGENT_READY, 'a blocked change is not applied');

  // Block by throwing ChangeBlockedError: dinner time.
  hour = 19;
  await assert.rejects(demo.setAgentStatus(2, AGENT_AUX, 'Oběd'), { message: 'Už je čas na večeři' });

  // Lunch at noon is fine and passes unchanged.
  hour = 12;
  assert.equal((await demo.setAgentStatus(2, AGENT_AUX, 'Oběd')).reason, 'Oběd');

  // An unexpected error (here a missing reason) applies the requested status and logs the stack.
  const crashed = await demo.setAgentStatus(2, AGENT_READY, null as unknown as string);
  assert.equal(crashed.status, AGENT_READY);
  const line = logger.lines.find((l) => l.level === 'error' && /threw; applying the originally requested value/.test(l.msg ?? ''));
  assert.ok(line !== undefined, 'the failure is logged');
  assert.match(String((line.obj as { stack?: string }).stack), /TypeError/);

  // The point is exclusive: a second holder is refused by name; unload frees it.
  await assert.rejects(
    Promise.resolve().then(() => demo.host.onChange('agent-status', () => undefined)),
    /already held by "plugin:status-hook"/,
  );
  assert.equal(demo.host.changes.holder('agent-status'), 'plugin:status-hook');
  await manager.unload('status-hook');
  assert.equal(demo.host.changes.holder('agent-status'), undefined);
  assert.equal((await demo.setAgentStatus(1, AGENT_OFFLINE as AgentStatus)).status, AGENT_OFFLINE);
});

test('shared-data-hook: usernames become ids, non-objects are blocked', async (t) => {
  const { demo, messages } = await startDemo(t, ['shared-data-hook']);
  assert.deepEqual(await demo.setShared('agent_emails', { jana: 3, petr: 1, ghost: 7 }), { 2: 3, 3: 1 });
  assert.deepEqual(demo.shared('agent_emails'), { 2: 3, 3: 1 });
  assert.ok(messages('warn', 'shared-data-hook').includes('Unknown username: ghost'));
  await demo.setShared('agent_emails', { jana: 5 });
  assert.ok(messages('debug', 'shared-data-hook').includes('User ID 2 email count changed from 3 to 5'));
  for (const bad of [[1, 2], 'text', 42, null]) {
    await assert.rejects(demo.setShared('agent_emails', bad), { code: 'HKW_ERR_CHANGE_BLOCKED', message: 'Only associative array is accepted' });
  }
  assert.deepEqual(demo.shared('agent_emails'), { 2: 5 });
});

test('middleware: admin username kept, short admin password refused per field, user deletion forbidden', async (t) => {
  const { demo, manager, messages } = await startDemo(t, ['middleware']);
  const caller = { username: 'admin' };
  assert.equal(demo.host.call('config.users.get', 2)?.username, 'jana');
  assert.deepEqual(messages('debug', 'middleware'), ['Middleware get_user args', 'Middleware get_user result']);

  assert.throws(() => demo.host.call('config.users.edit', caller, { id: 1, username: 'root' }), (err: Error & { code: string; fields: Record<string, string> }) => {
    assert.equal(err.code, 'HKW_ERR_INVALID_INPUT');
    assert.deepEqual(err.fields, { username: "Admin username can't be changed" });
    return true;
  });
  assert.throws(() => demo.host.call('config.users.edit', caller, { id: 1, password: 'short' }), (err: Error & { fields: Record<string, string> }) => {
    assert.deepEqual(err.fields, { password: 'Admin password is too short' });
    return true;
  });
  assert.equal(demo.host.call('config.users.edit', caller, { id: 1, password: 'a long enough password' }).password, 'a long enough password');
  assert.equal(demo.host.call('config.users.edit', caller, { id: 2, password: 'x' }).password, 'x', 'other users are not restricted');
  assert.throws(() => demo.host.call('config.users.delete', caller, 3), { code: 'HKW_ERR_PERMISSION_DENIED', message: 'This UCS forbids user removal' });
  assert.equal(demo.host.call('config.users.get', 3)?.username, 'petr');

  await manager.unload('middleware');
  assert.equal(demo.host.call('config.users.delete', caller, 3), true, 'without the plugin the host method runs as is');
});
