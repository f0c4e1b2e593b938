// Orders installers by what they declare (as avvio orders plugins): an
// installer runs after every installer it needs and every one it comes
// after that is present; among the rest the given order holds. A need that
// no installer provides, or a cycle, is an error that names it.

import { InvalidArgumentError } from '../errors.js';
import type { Installer } from './types.js';

export function orderInstallers(installers: readonly Installer[]): Installer[] {
  const byName = new Map<string, Installer>();
  for (const installer of installers) {
    if (byName.has(installer.name)) throw new InvalidArgumentError(`Two installers are named "${installer.name}"; each subsystem installs once.`);
    byName.set(installer.name, installer);
  }
  for (const installer of installers) {
    for (const need of installer.needs ?? []) {
      if (!byName.has(need)) {
        throw new InvalidArgumentError(`The installer "${installer.name}" needs "${need}", which is not installed: add the "${need}" installer to the runtime.`);
      }
    }
  }
  const ordered: Installer[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (installer: Installer, path: readonly string[]): void => {
    const seen = state.get(installer.name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      throw new InvalidArgumentError(`The installers depend on each other in a cycle: ${[...path, installer.name].join(' → ')}.`);
    }
    state.set(installer.name, 'visiting');
    for (const name of [...(installer.needs ?? []), ...(installer.after ?? [])]) {
      const before = byName.get(name);
      if (before !== undefined) visit(before, [...path, installer.name]);
    }
    state.set(installer.name, 'done');
    ordered.push(installer);
  };
  for (const installer of installers) visit(installer, []);
  return ordered;
}
