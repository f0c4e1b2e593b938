// Test sends (POST /v1/targets/:name/test): a sample event goes through one
// target now, outside the delivery queue (nothing is stored, retried or
// chained), and the attempt comes back as the queue would record it. The
// event is built as emit builds it (catalogue schema, envelope), from the
// given data or the catalogue's example data; without an event named, the
// first one the target's config follows.

import { newWebhookId } from '../delivery/message-id.js';
import { TestSendEventError } from '../errors.js';
import type { EventCatalogue } from '../events/catalogue.js';
import { eventRecord } from '../handlers/router.js';
import type { OutboundTarget } from '../handlers/target.js';
import type { Host } from '../host.js';
import type { HookworkConfig } from '../config/schema.js';

export interface TestSendRequest {
  /** Event id or catalogue name. */
  readonly event?: string;
  /** The event's data; default: the catalogue's example for it, or {}. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface TestSendResult {
  readonly target: string;
  readonly kind: string;
  readonly event: { readonly id: string; readonly uuid: string; readonly name: string };
  readonly ok: boolean;
  readonly retryable?: boolean;
  readonly http_status?: number;
  readonly exit_code?: number;
  /** The first 4 KiB of the response body (webhook) or output (command). */
  readonly response?: string;
  /** A webhook's response headers. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly duration_ms: number;
  readonly error?: string;
}

function idOf(catalogue: EventCatalogue, text: string): string | undefined {
  if (catalogue.has(text)) return text;
  return catalogue.list().find((entry) => entry.name === text)?.id;
}

/** The first catalogued event the target's config follows (target_events, actions, a Magpie webhook's action). */
function followedEvent(config: HookworkConfig, catalogue: EventCatalogue, name: string): string | undefined {
  const [kind, own] = [name.slice(0, name.indexOf(':')), name.slice(name.indexOf(':') + 1)];
  const candidates: string[] = [];
  if (kind === 'handler') {
    const handler = config.handlers.find((h) => h.name === own) as { target_events?: readonly string[]; actions?: readonly string[] } | undefined;
    candidates.push(...(handler?.target_events ?? []).filter((e) => !e.startsWith('!')), ...(handler?.actions ?? []));
  } else if (kind === 'webhook') {
    const hook = config.webhooks.find((w) => w.name === own);
    if (hook !== undefined) candidates.push(hook.action);
  }
  for (const candidate of candidates) {
    const id = idOf(catalogue, candidate);
    if (id !== undefined) return id;
  }
  return undefined;
}

export async function testSend(host: Host, config: HookworkConfig, target: OutboundTarget, request: TestSendRequest): Promise<TestSendResult> {
  const catalogue = host.catalogue;
  let id: string | undefined;
  if (request.event !== undefined) {
    id = idOf(catalogue, request.event);
    if (id === undefined) throw new TestSendEventError(target.name, `the catalogue has no event with the id or name "${request.event}"`);
  } else {
    id = followedEvent(config, catalogue, target.name);
    if (id === undefined) throw new TestSendEventError(target.name, 'its config follows no event of the catalogue by id or name');
  }
  const example = catalogue.get(id)?.example;
  const data = request.data ?? (example !== null && typeof example === 'object' ? (example as Record<string, unknown>) : {});
  const event = host.build(id, { data });
  const started = performance.now();
  const result = await target.run(eventRecord(event), { webhookId: newWebhookId(), attempt: 1, signal: new AbortController().signal });
  return {
    target: target.name,
    kind: target.kind,
    event: { id: event.id, uuid: event.uuid, name: event.name },
    ok: result.ok,
    ...(result.ok ? {} : { retryable: result.retryable === true }),
    ...(result.httpStatus === undefined ? {} : { http_status: result.httpStatus }),
    ...(result.exitCode === undefined ? {} : { exit_code: result.exitCode }),
    ...(result.response === undefined ? {} : { response: result.response }),
    ...(result.responseHeaders === undefined ? {} : { headers: result.responseHeaders }),
    duration_ms: Math.round((result.durationMs ?? performance.now() - started) * 1000) / 1000,
    ...(result.error === undefined ? {} : { error: result.error }),
  };
}
