// Installers declare what they need by name; the runtime orders them and
// names a missing one (as avvio orders plugins).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderInstallers } from '../../src/runtime/installers.js';
import type { Installer } from '../../src/runtime/types.js';

const installer = (name: string, needs: string[] = [], after: string[] = []): Installer => ({ name, needs, after, install: () => undefined });

test('installers run after what they need and what they come after, whatever the listed order', () => {
  const order = orderInstallers([installer('cluster', [], ['delivery', 'plugins']), installer('plugins', [], ['handlers']), installer('handlers', ['delivery']), installer('delivery')]);
  assert.deepEqual(order.map((i) => i.name), ['delivery', 'handlers', 'plugins', 'cluster']);
});

test('"after" an installer that is not there is no error; a missing need is one, naming both', () => {
  assert.deepEqual(orderInstallers([installer('plugins', [], ['extensions'])]).map((i) => i.name), ['plugins']);
  assert.throws(() => orderInstallers([installer('handlers', ['delivery'])]), {
    code: 'HKW_ERR_INVALID_ARGUMENT',
    message: /"handlers" needs "delivery", which is not installed/,
  });
});

test('a cycle and a name used twice are refused, naming them', () => {
  assert.throws(() => orderInstallers([installer('a', ['b']), installer('b', ['a'])]), /cycle: a → b → a/);
  assert.throws(() => orderInstallers([installer('a'), installer('a')]), /Two installers are named "a"/);
});
