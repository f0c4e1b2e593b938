// UCS's shared-data change hook on `agent_emails`: the incoming map of
// username → e-mail count is rewritten to user id → count; anything but an
// object is refused. Unknown usernames are dropped with a warning.

import { ChangeBlockedError, definePlugin } from '../../src/index.js';
import type { DemoHookMap, User } from './demo-host.js';

export const plugin = definePlugin<unknown, DemoHookMap>({
  name: 'shared-data-hook',
  version: '1.0.0',
  setup(ctx) {
    ctx.onChange('shared:agent_emails', ({ old, value }) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new ChangeBlockedError('Only associative array is accepted');
      }
      const users: User[] = ctx.call('users.list');
      const idByUsername = new Map(users.map((u) => [u.username, u.id]));
      const previous = (old ?? {}) as Record<string, unknown>;
      const data: Record<string, unknown> = {};
      for (const [username, count] of Object.entries(value)) {
        const id = idByUsername.get(username);
        if (id === undefined) {
          ctx.logger.warn({ username }, `Unknown username: ${username}`);
          continue;
        }
        data[id] = count;
        const before = previous[id];
        if (before !== undefined) ctx.logger.debug({ user: id }, `User ID ${id} email count changed from ${String(before)} to ${String(count)}`);
      }
      return data;
    });
  },
});
