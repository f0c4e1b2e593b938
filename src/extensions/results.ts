// What an extension returns, turned into events: a string is an
// informational event (20200); nothing is nothing; an object or a list of
// objects are events (`message` required, `event_id` default 20200, 20201
// success, 20202 failure with `details`); other attributes stay in `data`.

import { ExtensionResultError } from '../errors.js';
import { ENGINE_EVENTS } from '../events/engine-events.js';

export interface ResultEmission {
  readonly id: string;
  readonly message: string;
  /** Every attribute but `event_id`, `message` included (engine templates render `{{data.message}}`). */
  readonly data: Record<string, unknown>;
}

const NONE: readonly ResultEmission[] = Object.freeze([]);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

function one(value: unknown, where: string): ResultEmission {
  if (typeof value === 'string') return { id: ENGINE_EVENTS.info, message: value, data: { message: value } };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ExtensionResultError(`${where} gave ${describe(value)} where an event ({ message, event_id? }) or a text was expected.`);
  }
  const record = value as Record<string, unknown>;
  const message = record['message'];
  if (typeof message !== 'string') {
    throw new ExtensionResultError(`${where} gave an event without a "message" text (${JSON.stringify(Object.keys(record))}); "message" is required.`);
  }
  const rawId = record['event_id'];
  let id: string = ENGINE_EVENTS.info;
  if (rawId !== undefined && rawId !== null) {
    if (typeof rawId !== 'string' && typeof rawId !== 'number') {
      throw new ExtensionResultError(`${where} gave an event whose "event_id" is ${describe(rawId)}; use an id such as "20201".`);
    }
    id = String(rawId);
    if (id === ENGINE_EVENTS.handlerFailed) {
      throw new ExtensionResultError(`${where} gave event ${id}, which is reserved to the engine; report a failure with event_id "20202" and "details".`);
    }
  }
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(record)) if (key !== 'event_id') data[key] = record[key];
  if (id === ENGINE_EVENTS.failure && typeof data['details'] !== 'string') data['details'] = data['details'] == null ? '' : String(data['details']);
  return { id, message, data };
}

/** Normalises a result; throws ExtensionResultError saying what was wrong and where (`handle()`, `getConfiguration()`). */
export function toResultEmissions(value: unknown, where: string): readonly ResultEmission[] {
  if (value === undefined || value === null) return NONE;
  if (Array.isArray(value)) {
    if (value.length === 0) return NONE;
    return value.map((item, index) => one(item, `${where} (item ${index})`));
  }
  return [one(value, where)];
}
