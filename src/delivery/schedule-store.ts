// What the scheduler needs from a store: one claim per (schedule, tick), so
// with several nodes on one database each tick fires on exactly one of them
// (whoever inserts the row first; no leader to lose), and the paused state
// every node reads. The delivery stores implement it on their own tables.

/** One claim: this node wants to handle `tick` (the fire time, ms) of schedule `name`. */
export interface ScheduleTickClaim {
  readonly name: string;
  readonly tick: number;
  readonly nodeId: string;
  /** When the claim is made (ms). */
  readonly at: number;
  /**
   * True when the claimer fires the tick (emits its event); false when it
   * only marks the tick handled (paused, or skipped by catch_up: none), so a
   * later catch-up does not fire it.
   */
  readonly fired: boolean;
}

/** A schedule's state as the store keeps it. */
export interface ScheduleRecord {
  readonly name: string;
  readonly paused: boolean;
  /** When it was last paused or resumed (ms). */
  readonly changedAt?: number;
  /** The newest tick claimed (fired or not), ms. */
  readonly lastTick?: number;
  /** The newest tick fired, when and by which node. */
  readonly lastFired?: { readonly tick: number; readonly at: number; readonly nodeId: string };
}

export interface ScheduleStore {
  /**
   * Claims one tick: true when this call is the first to claim it and no newer
   * tick of the schedule was claimed before (then the caller handles it);
   * false otherwise. One transaction: two nodes claiming the same tick get
   * one true between them.
   */
  claimScheduleTick(claim: ScheduleTickClaim): Promise<boolean>;
  /** Pauses or resumes a schedule (kept across restarts and nodes). */
  setSchedulePaused(name: string, paused: boolean, at: number): Promise<void>;
  /** One schedule's state (a schedule never claimed nor paused: not paused, no ticks). */
  scheduleState(name: string): Promise<ScheduleRecord>;
  /** Every schedule the store knows something about. */
  scheduleStates(): Promise<ScheduleRecord[]>;
}

/** A row of the schedule state table, as SQLite and PostgreSQL give it. */
export interface ScheduleStateRow {
  readonly name: string;
  readonly paused: number | boolean;
  readonly changed_at: number | string | null;
  readonly fired_tick: number | string | null;
  readonly fired_at: number | string | null;
  readonly fired_node: string | null;
}

/** The state rows and the newest claimed tick per name, as records (sorted by name). */
export function scheduleRecords(
  states: readonly ScheduleStateRow[],
  ticks: readonly { readonly name: string; readonly tick: number | string }[],
): ScheduleRecord[] {
  const lastTick = new Map(ticks.map((t) => [t.name, Number(t.tick)]));
  const names = new Set([...states.map((s) => s.name), ...lastTick.keys()]);
  const byName = new Map(states.map((s) => [s.name, s]));
  return [...names].sort().map((name) => {
    const s = byName.get(name);
    const tick = lastTick.get(name);
    return {
      name,
      paused: s !== undefined && (s.paused === true || s.paused === 1),
      ...(s?.changed_at == null ? {} : { changedAt: Number(s.changed_at) }),
      ...(tick === undefined ? {} : { lastTick: tick }),
      ...(s?.fired_tick == null
        ? {}
        : { lastFired: { tick: Number(s.fired_tick), at: Number(s.fired_at), nodeId: s.fired_node ?? '' } }),
    };
  });
}
