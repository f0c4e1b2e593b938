// Runs in a pool worker: imports the handler module (once per worker) and
// constructs its class once, as SFTPPlus does in each worker, then calls its
// static `handle` on the copy of the event it was sent. Nothing of the main
// process is here: onStart never ran in this thread.
//
// Handler modules load as ES modules wherever they live (CommonJS for .cjs
// and .cts), TypeScript through tsx's hooks registered in this thread: see
// module-loader.ts.

import type { ExtensionHandlerClass, ExtensionTask, HandleResult, WorkerEvent } from './contract.js';
import { importOperatorUrl } from '../module-loader.js';

const classes = new Map<string, Promise<ExtensionHandlerClass>>();
// SFTPPlus constructs the handler class "in each worker and in the main
// process": its constructor may set up what handle() relies on per process.
// The instance is kept for the worker's life (handle stays static).
const instances = new Map<string, object>();

async function loadClass(module: string, exportName: string): Promise<ExtensionHandlerClass> {
  const key = `${module}#${exportName}`;
  let loading = classes.get(key);
  if (loading === undefined) {
    loading = importOperatorUrl(module).then((namespace) => {
      const exported = namespace[exportName];
      if (typeof exported !== 'function' || typeof (exported as { handle?: unknown }).handle !== 'function') {
        throw new TypeError(`${module} has no export "${exportName}" with a static handle(event, configuration) method.`);
      }
      const handlerClass = exported as ExtensionHandlerClass;
      instances.set(key, new handlerClass());
      return handlerClass;
    });
    // A failed import is retried on the next task (the file may be fixed).
    loading.catch(() => classes.delete(key));
    classes.set(key, loading);
  }
  return loading;
}

/**
 * The worker copy gets SFTPPlus's data_json, computed only if read, from a
 * shared prototype: a per-event accessor property would cost more than the
 * handler's own work in a trivial handler. JSON of the event still lists it.
 */
const WORKER_EVENT_PROTO = Object.create(Object.prototype, {
  data_json: {
    get(this: { data: unknown }): string {
      return JSON.stringify(this.data);
    },
    enumerable: false,
  },
  toJSON: {
    value(this: WorkerEvent): Record<string, unknown> {
      return { ...this, data_json: this.data_json };
    },
    enumerable: false,
  },
}) as object;

function withDataJson(event: ExtensionTask['event']): WorkerEvent {
  return Object.setPrototypeOf(event, WORKER_EVENT_PROTO) as WorkerEvent;
}

/** Catches results that could not be copied back, with a message that says which attribute. */
function checkResult(result: HandleResult): HandleResult {
  if (result === null || typeof result !== 'object') return result;
  const list = (Array.isArray(result) ? result : [result]) as readonly unknown[];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    for (const [key, value] of Object.entries(item)) {
      if (typeof value === 'function' || typeof value === 'symbol') {
        throw new TypeError(`handle() returned an event whose "${key}" is a ${typeof value}; results must be plain data.`);
      }
    }
  }
  return result;
}

/** Classes already loaded, for the synchronous fast path. */
const loaded = new Map<string, ExtensionHandlerClass>();

function call(handlerClass: ExtensionHandlerClass, task: ExtensionTask): HandleResult | Promise<HandleResult> {
  const result = handlerClass.handle(withDataJson(task.event), task.configuration);
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<HandleResult>).then === 'function') {
    return Promise.resolve(result as PromiseLike<HandleResult>).then(checkResult);
  }
  return checkResult(result as HandleResult);
}

export default function runExtensionTask(task: ExtensionTask): HandleResult | Promise<HandleResult> {
  const key = `${task.module}#${task.exportName}`;
  const handlerClass = loaded.get(key);
  if (handlerClass !== undefined) return call(handlerClass, task);
  return loadClass(task.module, task.exportName).then((found) => {
    loaded.set(key, found);
    return call(found, task);
  });
}
