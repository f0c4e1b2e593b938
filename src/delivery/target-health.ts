// What nodes share of each target's health through the store: its circuit
// (opened by one node, seen open by all) and since when it has failed without
// a single success (what endpoint_failure_disable_after counts). Written on
// transitions only (a circuit opens or closes, a target starts or stops
// failing), read by each node beside its poll: never a round trip per
// delivery. The delivery stores implement it on a table of their own
// (`target_health`, `hookwork_target_health`).

export interface TargetHealth {
  readonly target: string;
  /** The circuit as last recorded: open until `openUntil` (half-open after it), or closed. */
  readonly circuit?: {
    readonly state: 'open' | 'closed';
    readonly openUntil: number;
    /** When it was recorded (ms) and by which node. */
    readonly at: number;
    readonly nodeId: string;
  };
  /** The first failure since the last success (ms), while the target fails. */
  readonly failingSince?: number;
}

export interface TargetHealthStore {
  /** Records a circuit opened (until `openUntil`) or closed by `nodeId`. */
  saveCircuit(target: string, state: 'open' | 'closed', openUntil: number, at: number, nodeId: string): Promise<void>;
  /** The target failed at `at`: starts its failing time unless it runs already. */
  markFailing(target: string, at: number): Promise<void>;
  /** The target succeeded at `at`: ends a failing time that began at or before it. */
  clearFailing(target: string, at: number): Promise<void>;
  targetHealth(): Promise<TargetHealth[]>;
}

/** A row of the health table, as SQLite and PostgreSQL give it. */
export interface TargetHealthRow {
  readonly target: string;
  readonly circuit_state: string | null;
  readonly open_until: number | string | null;
  readonly circuit_at: number | string | null;
  readonly circuit_node: string | null;
  readonly failing_since: number | string | null;
}

export function targetHealthFromRow(row: TargetHealthRow): TargetHealth {
  return {
    target: row.target,
    ...(row.circuit_state === 'open' || row.circuit_state === 'closed'
      ? { circuit: { state: row.circuit_state, openUntil: Number(row.open_until ?? 0), at: Number(row.circuit_at ?? 0), nodeId: row.circuit_node ?? '' } }
      : {}),
    ...(row.failing_since === null ? {} : { failingSince: Number(row.failing_since) }),
  };
}
