// UCS's API middleware: log config.users.get, keep the admin's username and
// refuse short admin passwords (a per-field InvalidInputError), and forbid
// deleting users (PermissionDeniedError). Each middleware gets `next` and
// the call's arguments, may rewrite them, and returns the (rewritten) result.

import { definePlugin, InvalidInputError, PermissionDeniedError } from '../../src/index.js';
import type { DemoHookMap } from './demo-host.js';

const ADMIN_ID = 1;

export const plugin = definePlugin<unknown, DemoHookMap>({
  name: 'middleware',
  version: '1.0.0',
  setup(ctx) {
    ctx.use('config.users.get', (next, id) => {
      ctx.logger.debug({ args: [id] }, 'Middleware get_user args');
      const result = next(id);
      ctx.logger.debug({ result: result?.username }, 'Middleware get_user result');
      return result;
    });
    ctx.use('config.users.edit', (next, caller, data) => {
      if (data.id === ADMIN_ID) {
        if (data.username !== undefined && data.username !== 'admin') {
          throw new InvalidInputError({ username: "Admin username can't be changed" });
        }
        if (data.password !== undefined && data.password !== '' && data.password.length < 10) {
          throw new InvalidInputError({ password: 'Admin password is too short' });
        }
      }
      return next(caller, data);
    });
    ctx.use('config.users.delete', () => {
      throw new PermissionDeniedError('This UCS forbids user removal');
    });
  },
});
