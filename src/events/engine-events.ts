// Events the engine itself emits. Their ids follow SFTPPlus where it has one
// (20174 for a failed handler, 20053 for a command run, 20200-20202 for what
// an extension reports); the rest are Hookwork's own.

import type { EventDefinition } from './catalogue.js';

export const ENGINE_EVENTS = {
  /** An extension's debug message. */
  debug: '20000',
  /** Informational message from a handler (the default for handler results). */
  info: '20200',
  /** A handler reports success. */
  success: '20201',
  /** A handler reports a failure, with details. */
  failure: '20202',
  /** A handler, subscriber or target failed (reserved to the engine, SFTPPlus's 20174). */
  handlerFailed: '20174',
  /** An external command ran (SFTPPlus's 20053). */
  commandExecuted: '20053',
  /** A webhook receiver reported failure through its callback URL (Magpie's callback_url). */
  callbackFailed: '20510',
  /** A synchronous post hook of an action (execute_sync) failed; the host was asked to undo. */
  actionSyncHookFailed: '20511',
  /** A delivery exhausted its retry schedule (or failed for good) and was dead-lettered. */
  deliveryFailed: '20520',
  /** A delivery target was disabled (its receiver answered 410 Gone); its deliveries wait until it is enabled. */
  deliveryTargetDisabled: '20521',
  /** A delivery target was disabled for failing without a single success for endpoint_failure_disable_after. */
  deliveryTargetFailingDisabled: '20522',
} as const;

export const ENGINE_EVENT_DEFINITIONS: readonly EventDefinition[] = [
  { id: ENGINE_EVENTS.debug, name: 'debug', groups: ['debug'], message: '{{data.message}}' },
  { id: ENGINE_EVENTS.info, name: 'info', groups: ['informational'], message: '{{data.message}}' },
  { id: ENGINE_EVENTS.success, name: 'success', groups: ['success'], message: '{{data.message}}' },
  { id: ENGINE_EVENTS.failure, name: 'failure', groups: ['failure'], message: '{{data.message}}' },
  {
    id: ENGINE_EVENTS.handlerFailed,
    name: 'handler-failed',
    groups: ['failure', 'engine'],
    message: 'Handler "{{data.handler}}" failed on event {{data.event_id}}: {{data.error}}',
  },
  {
    id: ENGINE_EVENTS.commandExecuted,
    name: 'command-executed',
    groups: ['command', 'engine'],
    message: 'Command {{data.command}} exited with {{data.exit_code}}.',
  },
  {
    id: ENGINE_EVENTS.callbackFailed,
    name: 'webhook-callback-failed',
    groups: ['failure', 'webhook', 'engine'],
    message: 'The receiver of webhook "{{data.target}}" reported failure: {{data.error}}',
  },
  {
    id: ENGINE_EVENTS.actionSyncHookFailed,
    name: 'action-hook-failed',
    groups: ['failure', 'action', 'engine'],
    message: 'A synchronous post hook of action "{{data.action}}" failed: {{data.error}}',
  },
  {
    id: ENGINE_EVENTS.deliveryFailed,
    name: 'delivery-failed',
    groups: ['failure', 'delivery', 'engine'],
    message: 'Delivery {{data.delivery_id}} to "{{data.target}}" failed after {{data.attempts}} attempts: {{data.error}}',
  },
  {
    id: ENGINE_EVENTS.deliveryTargetDisabled,
    name: 'delivery-target-disabled',
    groups: ['failure', 'delivery', 'engine'],
    message: 'Delivery target "{{data.target}}" was disabled: {{data.reason}}',
    example: { target: 'webhook:billing', reason: 'HTTP 410 (delivery dlv_019ad5c4-7c2e-7a41-9f3b-2d8e61c0a7f5)' },
  },
  {
    id: ENGINE_EVENTS.deliveryTargetFailingDisabled,
    name: 'delivery-target-failing-disabled',
    groups: ['failure', 'delivery', 'engine'],
    message: 'Delivery target "{{data.target}}" was disabled: it failed without a success since {{data.failing_since}}',
    example: {
      target: 'webhook:billing',
      reason:
        'no successful attempt since 2025-01-26T12:00:00.000Z (endpoint_failure_disable_after: 432000 s); last error: HTTP 503 (delivery dlv_019ad5c4-7c2e-7a41-9f3b-2d8e61c0a7f5)',
      failing_since: '2025-01-26T12:00:00.000Z',
      disable_after: 432000,
    },
  },
];
