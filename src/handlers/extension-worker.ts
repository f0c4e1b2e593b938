// Runs in a pool worker: imports the handler module (once per worker) and
// calls its static `handle` on the copy of the event it was sent. Nothing
// of the main process is here: onStart never ran in this thread.

import type { ExtensionHandlerClass, ExtensionTask, HandleResult, WorkerEvent } from './extension-contract.js';

const classes = new Map<string, Promise<ExtensionHandlerClass>>();

async function loadClass(module: string, exportName: string): Promise<ExtensionHandlerClass> {
  const key = `${module}#${exportName}`;
  let loading = classes.get(key);
  if (loading === undefined) {
    loading = import(module).then((namespace: Record<string, unknown>) => {
      const exported = namespace[exportName];
      if (typeof exported !== 'function' || typeof (exported as { handle?: unknown }).handle !== 'function') {
        throw new TypeError(`${module} has no export "${exportName}" with a static handle(event, configuration) method.`);
      }
      return exported as ExtensionHandlerClass;
    });
    // A failed import is retried on the next task (the file may be fixed).
    loading.catch(() => classes.delete(key));
    classes.set(key, loading);
  }
  return loading;
}

/** The worker copy gets SFTPPlus's data_json, computed only if read. */
function withDataJson(event: ExtensionTask['event']): WorkerEvent {
  let json: string | undefined;
  return Object.defineProperty(event, 'data_json', {
    enumerable: true,
    get: () => (json ??= JSON.stringify(event.data)),
  }) as WorkerEvent;
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

export default async function runExtensionTask(task: ExtensionTask): Promise<HandleResult> {
  const handlerClass = await loadClass(task.module, task.exportName);
  return checkResult(await handlerClass.handle(withDataJson(task.event), task.configuration));
}
