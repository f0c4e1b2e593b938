// Compile-time checks of the typed HookMap: `npm run typecheck` fails if any
// line marked @ts-expect-error compiles, or if a correct line does not. The
// test itself only runs the correct lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { block, createHost, deny, silentLogger, type HookworkEvent } from '../../src/index.js';

interface Hooks {
  events: {
    '100': { path: string; size: number };
    '200': { user: string };
  };
  gates: {
    'pre-upload': { path: string; account: string };
  };
  changes: {
    'agent-status': 'online' | 'away' | 'offline';
  };
  methods: {
    'users.edit': (id: string, patch: { name?: string }) => Promise<{ id: string; name?: string }>;
    'math.double': (n: number) => number;
  };
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

test('a typed HookMap types events, gates, change points and methods', async () => {
  const host = createHost<Hooks>({
    logger: silentLogger(),
    events: [
      { id: '100', name: 'uploaded' },
      { id: '200', name: 'login' },
    ],
  });

  const sizes: number[] = [];
  host.on('100', (event) => {
    expectType<Equal<typeof event.data.path, string>>();
    sizes.push(event.data.size);
  });
  host.on('200', (event) => {
    expectType<Equal<typeof event.data.user, string>>();
    // @ts-expect-error '200' has no `size` (it is `unknown`, not a number)
    const size: number = event.data.size;
    void size;
  });
  // Groups and '*' get loosely typed events.
  host.on('group:failure', (event: HookworkEvent) => void event.id);
  host.on('*', (event) => void event.data['anything']);

  await host.emit('100', { data: { path: '/a', size: 3 } });

  host.onGate('pre-upload', (ctx) => {
    expectType<Equal<typeof ctx, { path: string; account: string }>>();
    return ctx.path.endsWith('.exe') ? deny('no executables') : undefined;
  });
  // @ts-expect-error not a declared gate
  host.onGate('pre-nothing', () => undefined);
  const decision = await host.gate('pre-upload', { path: '/a.exe', account: 'ann' });
  assert.equal(decision.verdict, 'deny');

  host.onChange('agent-status', (change) => {
    expectType<Equal<typeof change.value, 'online' | 'away' | 'offline'>>();
    return change.value === 'offline' ? block('stay online') : 'away';
  });
  const outcome = await host.change('agent-status', 'online', 'offline');
  assert.deepEqual(outcome, { blocked: true, reason: 'stay online', by: 'host' });

  host.define('users.edit', async (id, patch) => ({ id, ...patch }));
  host.define('math.double', (n) => n * 2);
  host.use('users.edit', async (next, id, patch) => {
    expectType<Equal<typeof id, string>>();
    return next(id, { ...patch, name: patch.name?.trim() });
  });
  host.use('math.double', (next, n) => next(n) + 1);
  const edited = await host.call('users.edit', 'u1', { name: ' ann ' });
  expectType<Equal<typeof edited, { id: string; name?: string }>>();
  assert.deepEqual(edited, { id: 'u1', name: 'ann' });
  const doubled: number = host.call('math.double', 4);
  assert.equal(doubled, 9);

  await host.idle();
  assert.deepEqual(sizes, [3]);
  await host.close();

  // Never called: each line must fail to compile.
  const compileOnly = (): void => {
    // @ts-expect-error size must be a number
    void host.emit('100', { data: { path: '/a', size: 'big' } });
    // @ts-expect-error the context lacks `account`
    void host.gate('pre-upload', { path: '/x' });
    // @ts-expect-error not one of the allowed values
    void host.change('agent-status', 'online', 'sleeping');
    // @ts-expect-error a hook must return the value type (or block/undefined)
    host.onChange('agent-status', () => 42);
    // @ts-expect-error wrong argument type
    host.call('math.double', 'four');
    // @ts-expect-error not a declared method
    host.call('users.delete', 'u1');
    // @ts-expect-error middleware must keep the method's return type
    host.use('math.double', () => 'not a number');
    // @ts-expect-error an event id that is declared gets its data checked even through a scope
    void host.scope('s').emit('200', { data: { user: 1 } });
  };
  void compileOnly;
});

test('without a HookMap everything is loosely typed', async () => {
  const host = createHost({ logger: silentLogger(), strict: false });
  host.on('anything', (event) => void event.data['x']);
  host.onGate('any-gate', () => undefined);
  host.define('any.method', (...args: unknown[]) => args.length);
  assert.equal(host.call('any.method', 1, 2), 2);
  await host.close();
});
