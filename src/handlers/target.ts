// What every outbound target (command, webhook) offers on top of the
// delivery contract: run() over any event record, so the same target serves
// the delivery queue (attempt), gates and synchronous post hooks.

import type { AttemptContext, AttemptResult, DeliveryRecord, DeliveryTarget } from '../delivery/types.js';

/** The event as JSON-safe data (what the delivery queue stores), optionally with extras such as `output`. */
export type EventRecord = Readonly<Record<string, unknown>>;

export interface RunResult extends AttemptResult {
  /** A command's stdout parsed as JSON (`output_format: json`). */
  readonly output?: unknown;
  readonly durationMs?: number;
  /** A webhook's response headers, when the attempt asked for them (test sends). */
  readonly responseHeaders?: Readonly<Record<string, string>>;
}

export interface OutboundTarget extends DeliveryTarget {
  readonly kind: 'webhook' | 'command' | 'email';
  /** Secret context paths this target may read (`account.token`). */
  readonly grants: ReadonlySet<string>;
  run(event: EventRecord, context: AttemptContext): Promise<RunResult>;
  attempt(delivery: DeliveryRecord, context: AttemptContext): Promise<RunResult>;
}

/** Values templates see before the event: `callback_url`, `output`, `handler`. */
export type TemplateExtras = (event: EventRecord, context: AttemptContext) => Record<string, unknown>;

/** Limits a string to `max` bytes of UTF-8 (what the queue keeps of a response). */
export function headBytes(text: string, max = 4096): string {
  if (text.length <= max / 4) return text;
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= max ? text : buf.subarray(0, max).toString('utf8');
}
