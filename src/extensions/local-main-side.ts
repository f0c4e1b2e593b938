// The main side of a TypeScript/JavaScript handler: its class imported in
// this process, one instance built on the first start and kept. Its handle()
// goes to the thread pool, or to locked-down Node processes (`isolation:
// process`), which import the module by its plain file URL.

import type { HookworkEvent } from '../events/envelope.js';
import type { ExtensionHandlerClass, ExtensionHandlerInstance, ExtensionParent } from './contract.js';
import { loadHandlerClass, type ResolvedEntryPoint } from './loader.js';
import type { MainSide, TaskRunner } from './main-side.js';

export class LocalMainSide implements MainSide {
  readonly module: string;
  readonly exportName: string;
  readonly runner: TaskRunner;
  readonly #handler: string;
  readonly #entryPoint: string;
  readonly #entry: ResolvedEntryPoint;
  #class: ExtensionHandlerClass | undefined;
  #instance: ExtensionHandlerInstance | undefined;

  constructor(handler: string, entryPoint: string, entry: ResolvedEntryPoint, runner: TaskRunner, taskModule: string = entry.url) {
    this.#handler = handler;
    this.#entryPoint = entryPoint;
    this.#entry = entry;
    this.module = taskModule;
    this.exportName = entry.exportName;
    this.runner = runner;
  }

  async load(): Promise<readonly string[] | undefined> {
    const handlerClass = (this.#class ??= await loadHandlerClass(this.#handler, this.#entryPoint, this.#entry));
    this.#instance ??= new handlerClass();
    return handlerClass.TARGET_EVENTS?.map(String);
  }

  async start(parent: ExtensionParent): Promise<void> {
    await this.#instance?.onStart?.(parent);
  }

  async stop(): Promise<void> {
    await this.#instance?.onStop?.();
  }

  getConfiguration(event: HookworkEvent, _parent: ExtensionParent, configuration: string): unknown {
    const instance = this.#instance;
    return instance?.getConfiguration === undefined ? configuration : instance.getConfiguration(event);
  }

  async close(): Promise<void> {
    // Nothing of its own: the instance goes with the handler.
  }
}
