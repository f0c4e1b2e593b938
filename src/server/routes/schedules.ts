// Schedules over HTTP: list them with their state (viewer), pause and resume
// one (operator). The paused state is kept in the store, so it holds on every
// node and across restarts; a name the config does not have is a 404.

import { z } from 'zod';
import { ClosedError } from '../../errors.js';
import type { Scheduler } from '../../schedules/scheduler.js';
import type { RouteModule } from '../route-module.js';
import { zodValidatorCompiler } from '../zod-validation.js';

const nameParams = z.strictObject({ name: z.string().min(1).max(200) });

export const scheduleRoutes: RouteModule = (app, { runtime, auth }) => {
  const scheduler = (): Scheduler => {
    const s = runtime.services.schedules;
    if (s === undefined) throw new ClosedError('The scheduler');
    return s;
  };
  const operator = { validatorCompiler: zodValidatorCompiler, onRequest: auth.require('operator'), schema: { params: nameParams } };

  app.get('/v1/schedules', { onRequest: auth.require('viewer') }, async () => ({ schedules: await scheduler().list() }));

  app.post<{ Params: z.output<typeof nameParams> }>('/v1/schedules/:name/pause', operator, async (request) => ({
    schedule: await scheduler().pause(request.params.name),
  }));

  app.post<{ Params: z.output<typeof nameParams> }>('/v1/schedules/:name/resume', operator, async (request) => ({
    schedule: await scheduler().resume(request.params.name),
  }));
};
