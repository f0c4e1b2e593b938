// Operator schedules: each enabled schedule waits for its next cron tick and
// emits its event then. Every node runs every schedule; a tick fires on the
// node whose claim of (schedule, tick) the store takes first, so with several
// nodes on PostgreSQL each tick fires once and no leader can die silently
// with the ticks. The paused state lives in the store too, for every node.
// A node starting up looks at the ticks nobody claimed since the newest
// claimed one and does what `catch_up` says.

import { Cron } from 'croner';
import { ScheduleNotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ScheduleRecord, ScheduleStore } from '../delivery/schedule-store.js';
import { systemClock, type Clock } from './clock.js';
import type { ScheduleConfig } from './config-schema.js';
import { missedTicks } from './missed-ticks.js';

export interface SchedulerOptions {
  readonly schedules: readonly ScheduleConfig[];
  readonly store: ScheduleStore;
  readonly nodeId: string;
  readonly logger: Logger;
  /** Emits one tick's event; `event` is the schedule's `event` as configured. */
  readonly emit: (event: string, data: Record<string, unknown>) => Promise<unknown>;
  readonly clock?: Clock;
}

/** A schedule as `GET /v1/schedules` shows it. */
export interface ScheduleStatus {
  readonly name: string;
  readonly cron: string;
  readonly timezone: string | null;
  readonly event: string;
  readonly enabled: boolean;
  readonly catch_up: ScheduleConfig['catch_up'];
  readonly paused: boolean;
  /** The next tick (ISO), null when disabled or the expression has no more. A paused schedule shows it too: that tick is skipped unless resumed by then. */
  readonly next_fire_at: string | null;
  /** The newest tick fired (by any node), with when and where. */
  readonly last_fired: { readonly fired_at: string; readonly claimed_at: string; readonly node: string } | null;
}

interface Entry {
  readonly config: ScheduleConfig;
  readonly cron: Cron;
  cancel?: (() => void) | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class Scheduler {
  readonly #entries = new Map<string, Entry>();
  readonly #store: ScheduleStore;
  readonly #nodeId: string;
  readonly #logger: Logger;
  readonly #emit: SchedulerOptions['emit'];
  readonly #clock: Clock;
  readonly #running = new Set<Promise<void>>();
  #started = false;
  #closed = false;

  constructor(options: SchedulerOptions) {
    this.#store = options.store;
    this.#nodeId = options.nodeId;
    this.#logger = options.logger;
    this.#emit = options.emit;
    this.#clock = options.clock ?? systemClock;
    for (const config of options.schedules) {
      const cron = new Cron(config.cron, { ...(config.timezone === undefined ? {} : { timezone: config.timezone }) });
      this.#entries.set(config.name, { config, cron });
    }
  }

  /** Catches up what each enabled schedule missed, then waits for its next tick. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const entry of this.#entries.values()) {
      if (!entry.config.enabled) continue;
      try {
        await this.#catchUp(entry);
      } catch (err) {
        this.#logger.warn({ err, schedule: entry.config.name }, 'Could not catch up the ticks a schedule missed; it goes on from now');
      }
      if (this.#closed) return;
      this.#arm(entry, this.#clock.now());
    }
  }

  /** Every configured schedule with its state (paused, next tick, last fired). */
  async list(): Promise<ScheduleStatus[]> {
    const states = new Map((await this.#store.scheduleStates()).map((s) => [s.name, s]));
    const now = this.#clock.now();
    return [...this.#entries.values()].map((entry) => this.#status(entry, states.get(entry.config.name), now));
  }

  /** Pauses a schedule on every node: its ticks pass without firing until resumed (and are not caught up later). */
  pause(name: string): Promise<ScheduleStatus> {
    return this.#setPaused(name, true);
  }

  /** Resumes a paused schedule from its next tick (the ticks passed while paused are not fired). */
  resume(name: string): Promise<ScheduleStatus> {
    return this.#setPaused(name, false);
  }

  /** Stops waiting for ticks; resolves once the ticks being handled are done. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const entry of this.#entries.values()) {
      entry.cancel?.();
      entry.cancel = undefined;
    }
    await Promise.all([...this.#running]);
  }

  async #setPaused(name: string, paused: boolean): Promise<ScheduleStatus> {
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new ScheduleNotFoundError(name);
    await this.#store.setSchedulePaused(name, paused, this.#clock.now());
    this.#logger.info({ schedule: name }, paused ? 'Schedule paused' : 'Schedule resumed');
    return this.#status(entry, await this.#store.scheduleState(name), this.#clock.now());
  }

  #status(entry: Entry, state: ScheduleRecord | undefined, now: number): ScheduleStatus {
    const { config } = entry;
    const next = config.enabled ? entry.cron.nextRun(new Date(now)) : null;
    const fired = state?.lastFired;
    return {
      name: config.name,
      cron: config.cron,
      timezone: config.timezone ?? null,
      event: config.event,
      enabled: config.enabled,
      catch_up: config.catch_up,
      paused: state?.paused ?? false,
      next_fire_at: next === null ? null : next.toISOString(),
      last_fired: fired === undefined ? null : { fired_at: iso(fired.tick), claimed_at: iso(fired.at), node: fired.nodeId },
    };
  }

  /** Waits for the first tick after `after`. */
  #arm(entry: Entry, after: number): void {
    if (this.#closed) return;
    const next = entry.cron.nextRun(new Date(after));
    if (next === null) return; // a pattern with no future tick (a date in the past)
    const tick = next.getTime();
    const wait = (): void => {
      entry.cancel = this.#clock.setTimer(() => {
        entry.cancel = undefined;
        // Early (a delay longer than a timer can wait): wait again for the same tick.
        if (this.#clock.now() < tick) wait();
        else this.#track(this.#onTick(entry, tick));
      }, tick - this.#clock.now());
    };
    wait();
  }

  async #onTick(entry: Entry, tick: number): Promise<void> {
    try {
      await this.#handle(entry, tick);
    } catch (err) {
      this.#logger.warn({ err, schedule: entry.config.name, tick: iso(tick) }, 'A schedule tick could not be handled (the store or the emit failed); it is skipped');
    }
    // From the later of the tick and now: ticks passed while this one was handled (a stalled
    // process) are not fired late one by one; another node may have fired them.
    this.#arm(entry, Math.max(tick, this.#clock.now()));
  }

  /** Claims the tick; the node whose claim is taken fires it, unless the schedule is paused. */
  async #handle(entry: Entry, tick: number): Promise<void> {
    const name = entry.config.name;
    const { paused } = await this.#store.scheduleState(name);
    const claimed = await this.#store.claimScheduleTick({ name, tick, nodeId: this.#nodeId, at: this.#clock.now(), fired: !paused });
    if (!claimed) {
      this.#logger.debug({ schedule: name, tick: iso(tick) }, 'Schedule tick claimed by another node');
      return;
    }
    if (paused) {
      this.#logger.debug({ schedule: name, tick: iso(tick) }, 'Schedule paused: tick skipped');
      return;
    }
    await this.#fire(entry, tick);
  }

  async #fire(entry: Entry, tick: number): Promise<void> {
    const { config } = entry;
    this.#logger.info({ schedule: config.name, tick: iso(tick), event: config.event }, 'Schedule fired');
    await this.#emit(config.event, { ...config.data, schedule: { name: config.name, fired_at: iso(tick) } });
  }

  async #catchUp(entry: Entry): Promise<void> {
    const { config } = entry;
    const state = await this.#store.scheduleState(config.name);
    // Never claimed: nothing was missed (a new schedule starts from its next tick).
    if (state.lastTick === undefined) return;
    const missed = missedTicks(entry.cron, state.lastTick, this.#clock.now(), config.catch_up_max);
    if (missed.length === 0) return;
    const log = { schedule: config.name, missed: missed.length, catch_up: config.catch_up };
    if (state.paused) {
      // Marked handled, so resuming later does not fire them.
      await this.#store.claimScheduleTick({ name: config.name, tick: missed[missed.length - 1] as number, nodeId: this.#nodeId, at: this.#clock.now(), fired: false });
      this.#logger.info(log, 'Schedule paused: the ticks it missed are skipped');
      return;
    }
    if (config.catch_up === 'none') {
      this.#logger.info(log, 'Schedule missed ticks while no node ran it; skipped (catch_up: none)');
      return;
    }
    const ticks = config.catch_up === 'latest' ? missed.slice(-1) : missed;
    this.#logger.info(log, `Schedule missed ticks while no node ran it; firing ${ticks.length === 1 ? 'one' : ticks.length} (catch_up: ${config.catch_up})`);
    for (const tick of ticks) {
      if (this.#closed) return;
      // Claimed one by one, oldest first: another node catching up at once takes some, each fires once.
      const claimed = await this.#store.claimScheduleTick({ name: config.name, tick, nodeId: this.#nodeId, at: this.#clock.now(), fired: true });
      if (claimed) await this.#fire(entry, tick);
    }
  }

  #track(work: Promise<void>): void {
    this.#running.add(work);
    void work.finally(() => this.#running.delete(work));
  }
}
