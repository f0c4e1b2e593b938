// A receiver reporting failure on its callback URL: a callback-failed event,
// and the targets of `callbacks.on_failure` get it through the queue.

import { ENGINE_EVENTS } from '../events/engine-events.js';
import type { AccountInput, HookworkEvent } from '../events/envelope.js';
import { eventToJSON } from '../events/event-json.js';
import type { DeliveryQueue } from '../delivery/types.js';
import type { OutboundTarget } from '../handlers/target.js';
import type { Host } from '../host.js';
import type { CallbackReport } from './callbacks.js';

export function callbackFailureHandler(host: Host, queue: DeliveryQueue | undefined, onFailureTargets: readonly OutboundTarget[]): (report: CallbackReport) => Promise<void> {
  return async (report) => {
    const account: AccountInput = { name: report.record.accountName, ...(report.record.accountUuid === '' ? {} : { uuid: report.record.accountUuid }) };
    const event: HookworkEvent = await host.emit(ENGINE_EVENTS.callbackFailed, {
      account,
      data: {
        target: report.record.target,
        webhook_id: report.record.webhookId,
        event_id: report.record.eventId,
        event_uuid: report.record.eventUuid,
        event_name: report.record.eventName,
        error: report.error,
        ...(report.details === undefined ? {} : { details: report.details }),
      },
    });
    if (onFailureTargets.length > 0 && queue !== undefined) {
      await queue.enqueue(onFailureTargets.map((t) => ({ target: t.name, event: eventToJSON(event, { grantToken: t.grants.has('account.token') }) })));
    }
  };
}
