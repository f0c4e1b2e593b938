// The host's catalogue of events: what may be emitted, with its groups,
// message template and data schema. Looking an id up is one Map access.

import { InvalidArgumentError } from '../errors.js';
import { compileStringTemplate, type Template } from './template.js';

/** Anything with zod's `safeParse` shape (zod schemas fit as they are). */
export interface DataSchema<D = unknown> {
  safeParse(input: unknown):
    | { success: true; data: D }
    | { success: false; error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> } };
}

export interface EventDefinition<D = unknown> {
  /** A string id; numeric ids such as `20200` are common. */
  readonly id: string;
  /** A short machine name, e.g. `file-uploaded`. */
  readonly name: string;
  /** Groups the event belongs to, e.g. `failure`; subscribers may follow a group. */
  readonly groups?: readonly string[];
  /** The message template, over the event context: `File {{data.path}} uploaded`. */
  readonly message?: string;
  /** Validates (and may normalise) the event's `data`. */
  readonly schema?: DataSchema<D>;
  readonly description?: string;
  /** Sample `data`, as the event carries it (documentation, test sends: POST /v1/targets/:name/test). */
  readonly example?: D;
}

/** A catalogue entry with its message template compiled. */
export interface CatalogueEntry {
  readonly id: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly message: Template<string> | undefined;
  readonly schema: DataSchema | undefined;
  readonly description: string | undefined;
  readonly example: unknown;
}

export class EventCatalogue {
  readonly #entries = new Map<string, CatalogueEntry>();
  #version = 0;

  declare(definitions: EventDefinition | readonly EventDefinition[]): void {
    const list = Array.isArray(definitions) ? definitions : [definitions as EventDefinition];
    for (const def of list) {
      if (typeof def.id !== 'string' || def.id === '') {
        throw new InvalidArgumentError(`An event definition needs a non-empty string id; got ${JSON.stringify(def.id)}.`);
      }
      if (typeof def.name !== 'string' || def.name === '') {
        throw new InvalidArgumentError(`Event "${def.id}" needs a non-empty name.`);
      }
      this.#entries.set(def.id, {
        id: def.id,
        name: def.name,
        groups: Object.freeze([...(def.groups ?? [])]),
        message: def.message === undefined ? undefined : compileStringTemplate(def.message),
        schema: def.schema as DataSchema | undefined,
        description: def.description,
        example: def.example,
      });
    }
    this.#version++;
  }

  get(id: string): CatalogueEntry | undefined {
    return this.#entries.get(id);
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  list(): CatalogueEntry[] {
    return [...this.#entries.values()];
  }

  /** Changes whenever an entry is added or replaced (routes cache on it). */
  get version(): number {
    return this.#version;
  }
}
