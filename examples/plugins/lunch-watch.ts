// UCS's first example, in the class style UCS authors know: a callback on
// agent status changes, plus a background loop that logs who is at lunch.
// UCS runs the loop in a thread and must unregister the callback in stop();
// here the loop is ctx.task (its signal aborts on unload) and the callback
// is removed with the plugin's scope.

import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { PluginContext } from '../../src/index.js';
import { AGENT_AUX, type Agent, type DemoHookMap } from './demo-host.js';

const LUNCH = 'Oběd';

const configSchema = z.object({
  /** How often the loop looks at every agent (UCS waits 60 s). */
  interval_ms: z.number().int().positive().default(60_000),
});
type Config = z.output<typeof configSchema>;

export default class LunchWatch {
  static readonly pluginName = 'lunch-watch';
  static readonly version = '1.0.0';
  static readonly configSchema = configSchema;

  readonly #ctx: PluginContext<Config, DemoHookMap>;

  constructor(ctx: PluginContext<Config, DemoHookMap>) {
    this.#ctx = ctx;
    ctx.on('agent.status', (event) => {
      if (event.data.status === AGENT_AUX && event.data.reason === LUNCH) {
        ctx.logger.info({ agent: event.data.agent_id }, `Agent ${event.data.displayname} odešel na oběd`);
      }
    });
  }

  start(): void {
    // start() must not block: the loop runs as a task.
    this.#ctx.task((signal) => this.#loop(signal), { name: 'lunch-loop' });
  }

  async #loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Rejects with an AbortError on unload, which ends the task. Its abort
      // listener is removed when the timer fires, so passes do not pile up listeners.
      await sleep(this.#ctx.config.interval_ms, undefined, { signal });
      const agents: Agent[] = this.#ctx.call('agents.list');
      for (const agent of agents) {
        if (agent.status === AGENT_AUX && agent.reason === LUNCH) {
          this.#ctx.logger.info({ agent: agent.id }, `Agent ${agent.displayname} je na obědě`);
        }
      }
    }
  }
}
