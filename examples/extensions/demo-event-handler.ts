// The SFTPPlus demo event handler (seed 000, section 12.4.1), in TypeScript.
//
// Place this file in the extensions folder and configure:
//   type: extension
//   entry_point: python:extensions.demo_event_handler.DemoEventHandler
// (or the TypeScript spelling demo-event-handler.ts#DemoEventHandler).
//
// Events a handler may emit:
//   20174 - emitted by Hookwork for critical errors; not for extensions.
//   20000 - debug messages.
//   20200 - normal (informational) messages.
//   20201 - success.  20202 - failure, with `details`.

import type {
  ConfigurationDecision,
  ExtensionHandlerInstance,
  ExtensionParent,
  HandleResult,
  HookworkEvent,
  WorkerEvent,
} from '../../src/index.js';

export class DemoEventHandler implements ExtensionHandlerInstance {
  #parent: ExtensionParent | undefined;
  #configuration: string | undefined;

  /**
   * Called in the main process when the handler starts; may be called again
   * after a stop. `parent.configuration` is the configured text. Anything
   * thrown here keeps the handler from starting.
   */
  onStart(parent: ExtensionParent): void {
    this.#parent = parent;
    this.#configuration = parent.configuration;
  }

  /** Called in the main process when the handler stops. */
  onStop(): void {
    this.#configuration = undefined;
  }

  /**
   * Called in the main process before the event goes to a worker: it can
   * validate the event. Return the configuration text for `handle`, `null`
   * to skip, `[null, event]` to skip and emit, `[configuration, events]` to
   * emit then handle, or a promise (e.g. `parent.delay`) to decide later
   * without holding a worker.
   */
  getConfiguration(event: HookworkEvent): ConfigurationDecision {
    if (event.id === '1234' || event.account.name === 'fail-user') {
      // Anything thrown here stops the handling of this event only.
      throw new Error('Rejected event.');
    }

    if (event.account.name === 'skip-user') {
      // null: `handle` is not called.
      return null;
    }

    if (event.account.name === 'skip-emit') {
      // Skip, and emit an event with a custom message and data.
      return [null, { message: 'Handling skipped.', extra: 'skip-emit' }];
    }

    if (event.account.name === 'error-user') {
      // Skip and emit an event dedicated to errors.
      return [
        null,
        {
          event_id: '20202',
          message: 'Can be a generic description for the error case.',
          details: 'Can contain details specific to this error. Example a path to a file.',
          tb: 'Can include option traceback info as text.',
        },
      ];
    }

    if (event.account.name === 'delay-user') {
      // Handle this event 0.5 seconds later, without keeping a worker busy.
      return (this.#parent as ExtensionParent).delay(0.5, () => 'delayed-configuration');
    }

    // Events emitted as part of the decision; custom or default id.
    const events = [
      { event_id: '20201', message: 'Handling started.' },
      { message: 'Default ID is 20200 as informational.' },
    ];
    // Returning just the configuration, without events, works too.
    return [this.#configuration ?? '', events];
  }

  /**
   * Called in a worker to handle the event. It must work although onStart
   * and onStop never ran there. `configuration` is what getConfiguration
   * returned. Anything thrown stops this event only; later events still run.
   */
  static handle(event: WorkerEvent, configuration: string): HandleResult {
    if (event.account.name === 'inactive-user') {
      // A text is emitted as an informational event.
      return 'Extension is not active from this user.';
    }

    if (event.account.name === 'test@proatria.onmicrosoft.com') {
      // The token is in the worker's copy only when the handler is granted `account.token`.
      return `Entra ID token: ${event.account.token ?? ''}`;
    }

    if (event.account.name === 'ignored-user') {
      // Return nothing: no event is emitted.
      return;
    }

    // The full event, then a sample of its fields.
    const output =
      'Received new event for DemoEventHandler\n' +
      `${JSON.stringify(event, null, 2)}\n` +
      '-----------------\n' +
      `configuration: ${configuration}\n` +
      '-----------------\n' +
      `id: ${event.id}\n` +
      `account: ${event.account.name}\n` +
      `at: ${event.timestamp.timestamp.toFixed(6)}\n` +
      `from: ${event.component.name}\n` +
      `data: ${JSON.stringify(event.data, null, 2)}\n` +
      '---\n';

    // Several events at the end; for a single one, return just the object.
    return [
      // "message" is required.
      { message: 'A simple message.' },
      // Other attributes are kept.
      { message: 'state', value: 'OK' },
      // An explicit event id; its attributes should fit that event.
      { event_id: '20201', message: output, extra: configuration },
    ];
  }
}
