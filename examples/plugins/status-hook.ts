// UCS's agent-status change hook: modify the new status, block with a
// reason (block()), block by throwing ChangeBlockedError, and — for any
// other error — let the host apply the originally requested status (the
// core logs the stack). The clock is injectable through the plugin's config
// so the time-of-day rules can be tested.

import { z } from 'zod';
import { block, ChangeBlockedError, definePlugin } from '../../src/index.js';
import { AGENT_AUX, AGENT_OFFLINE, AGENT_READY, type AgentStatusValue, type DemoHookMap } from './demo-host.js';

const configSchema = z.object({
  /** Returns "now"; embedders and tests pass their own. */
  clock: z.custom<() => Date>((v) => typeof v === 'function', 'must be a function returning a Date').default(() => () => new Date()),
  lunch_from_hour: z.number().int().min(0).max(23).default(11),
  dinner_from_hour: z.number().int().min(0).max(23).default(17),
});

export const plugin = definePlugin<z.output<typeof configSchema>, DemoHookMap>({
  name: 'status-hook',
  version: '1.0.0',
  description: 'Agent status rules: no lunch before 11, dinner after 17, briefing after logging in.',
  configSchema,
  setup(ctx) {
    ctx.onChange('agent-status', ({ old, value }) => {
      const hour = ctx.config.clock().getHours();
      // A missing reason is a caller's bug: the TypeError falls back to the requested status.
      const reason = value.reason.trim();
      if (value.status === AGENT_AUX && reason === 'Oběd') {
        if (hour < ctx.config.lunch_from_hour) return block('Na oběd je příliš brzy');
        if (hour > ctx.config.dinner_from_hour) throw new ChangeBlockedError('Už je čas na večeři');
      }
      if (old?.status === AGENT_OFFLINE && value.status === AGENT_READY) {
        const briefing: AgentStatusValue = { status: AGENT_AUX, reason: 'Seznámení se z provozními pokyny' };
        return briefing;
      }
      return value;
    });
  },
});
