// Command and webhook handlers as gates (`pre-<action>`), with SFTPGo's
// rules: success (exit 0, an accepted status) allows, anything else denies;
// or, for pre-delete-style hooks, success means "handled" (the hook did it)
// and failure lets the action go on.

import { randomUUID } from 'node:crypto';
import { newWebhookId } from '../delivery/message-id.js';
import type { EventServer } from '../events/envelope.js';
import { formatTimestamp } from '../events/timestamp.js';
import { deny, handled, type GateCallInfo, type GateDecision, type GateFn } from '../hooks/gate.js';
import type { Logger } from '../logger.js';
import type { EventRecord, OutboundTarget } from './target.js';

export interface GateBehaviour {
  readonly on_success: 'allow' | 'handled';
  readonly on_failure: 'deny' | 'allow';
}

export const SFTPGO_GATE: GateBehaviour = Object.freeze({ on_success: 'allow', on_failure: 'deny' });
/** SFTPGo's pre-delete: success means the hook already deleted (or moved) the file. */
export const SFTPGO_PRE_DELETE: GateBehaviour = Object.freeze({ on_success: 'handled', on_failure: 'allow' });

const NEVER = new AbortController().signal;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}


/**
 * The template context of a gate call, shaped like an event so commands and
 * webhooks see the same variables: `{data, account, component}` contexts keep
 * their parts, any other object becomes `data`.
 */
export function gateRecord(gate: string, context: unknown, server: EventServer): EventRecord {
  const ctx = isRecord(context) ? context : {};
  const structured = isRecord(ctx['data']) || isRecord(ctx['account']);
  const data = structured ? (isRecord(ctx['data']) ? ctx['data'] : {}) : ctx;
  const account = structured && isRecord(ctx['account']) ? ctx['account'] : {};
  const peer = isRecord(account['peer']) ? account['peer'] : {};
  const component = structured && isRecord(ctx['component']) ? ctx['component'] : {};
  return {
    id: gate,
    uuid: randomUUID(),
    name: gate,
    groups: [],
    message: '',
    account: {
      uuid: typeof account['uuid'] === 'string' ? account['uuid'] : '',
      name: typeof account['name'] === 'string' ? account['name'] : typeof data['username'] === 'string' ? data['username'] : '',
      ...(typeof account['email'] === 'string' ? { email: account['email'] } : {}),
      peer: { address: '', port: 0, protocol: 'TCP', family: 'IPv4', ...peer },
    },
    component: { uuid: '', name: '', type: '', ...component },
    server,
    timestamp: formatTimestamp(Date.now()),
    data,
  };
}

/**
 * The gate function for one target on one gate. A denial answers the host
 * with "permission denied" and the handler's name only, as SFTPGo answers:
 * the run's own error names the script's path, its output or the receiver's
 * URL, which are the server's business, so that detail goes to the log.
 */
export function targetGate(gate: string, target: OutboundTarget, behaviour: GateBehaviour, server: EventServer, log: Logger): GateFn<unknown> {
  const denial = `permission denied by ${target.name}`;
  return async (context: unknown, info: GateCallInfo): Promise<GateDecision | undefined> => {
    const record = gateRecord(gate, context, server);
    const result = await target.run(record, { webhookId: newWebhookId(), attempt: 1, signal: info?.signal ?? NEVER });
    if (result.ok) return behaviour.on_success === 'handled' ? handled(`${target.name} handled ${gate}`) : undefined;
    if (behaviour.on_failure !== 'deny') return undefined;
    log.info({ gate, target: target.name, error: result.error }, `${target.name} denied ${gate}: ${result.error ?? 'no reason given'}`);
    return deny(denial);
  };
}
