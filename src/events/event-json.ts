// An event's JSON text, assembled from parts cached across events (what the
// catalogue entry fixes, the default account and component, the server, the
// millisecond's timestamp) and the data's JSON the envelope keeps.

import { hasDefaultMembers, isBuiltEnvelope, type EventAccount, type EventComponent, type EventServer, type HookworkEvent } from './envelope.js';
import type { EventTimestamp } from './timestamp.js';

// The members most events share are serialised once: what a catalogue entry
// fixes (id, name, groups), the defaults (process account, no component, the
// server) and the millisecond's timestamp. Servers by object (a process may
// run several hosts).
const partJson = new WeakMap<object, string>();

function cachedJson(part: object): string {
  let json = partJson.get(part);
  if (json === undefined) partJson.set(part, (json = JSON.stringify(part)));
  return json;
}

/** The JSON around an event's uuid that its catalogue entry fixes: `{"id":…,"uuid":` and `,"name":…,"groups":…,"message":`. */
interface EntryJson {
  readonly id: string;
  readonly groups: readonly string[];
  readonly beforeUuid: string;
  readonly afterUuid: string;
  /** Their UTF-8 bytes, for EventJsonParts (made on first use). */
  beforeUuidBytes: Buffer | undefined;
  afterUuidBytes: Buffer | undefined;
}

// By name, checked against id and groups; bounded, as strict mode off lets any id through.
const entryJson = new Map<string, EntryJson>();
const MAX_ENTRY_JSON = 1024;

function entryJsonOf(event: HookworkEvent): EntryJson {
  const cached = entryJson.get(event.name);
  if (cached !== undefined && cached.id === event.id && cached.groups === event.groups) return cached;
  const made: EntryJson = {
    id: event.id,
    groups: event.groups,
    beforeUuid: `{"id":${JSON.stringify(event.id)},"uuid":`,
    afterUuid: `,"name":${JSON.stringify(event.name)},"groups":${JSON.stringify(event.groups)},"message":`,
    beforeUuidBytes: undefined,
    afterUuidBytes: undefined,
  };
  if (entryJson.size >= MAX_ENTRY_JSON) entryJson.clear();
  entryJson.set(event.name, made);
  return made;
}

// `,"account":…,"component":…,"server":…,"timestamp":` for events with the default account and component.
let defaultsServer: EventServer | undefined;
let defaultsJson = '';

// The same for the last event with another account or component, and what
// it was made of: events of one account (a burst's, a session's, an
// extension's result events) each have their own frozen account, equal
// member for member, so the text is made once for them all.
let lastAccount: EventAccount | undefined;
let lastAccountJson = '';
let lastComponent: EventComponent | undefined;
let lastComponentJson = '';
let lastMembersOf: { account: string; component: string; server: EventServer | undefined } = { account: '', component: '', server: undefined };
let lastMembersJson = '';

function membersJson(event: HookworkEvent): string {
  if (hasDefaultMembers(event)) {
    if (event.server !== defaultsServer) {
      defaultsJson = `,"account":${JSON.stringify(event.account)},"component":${JSON.stringify(event.component)},"server":${JSON.stringify(event.server)},"timestamp":`;
      defaultsServer = event.server;
    }
    return defaultsJson;
  }
  const { account, component, server } = event;
  if (lastAccount === undefined || !sameAccount(lastAccount, account)) lastAccountJson = JSON.stringify(account);
  lastAccount = account;
  if (lastComponent === undefined || !sameComponent(lastComponent, component)) lastComponentJson = JSON.stringify(component);
  lastComponent = component;
  const made = lastMembersOf;
  if (made.account !== lastAccountJson || made.component !== lastComponentJson || made.server !== server) {
    lastMembersJson = `,"account":${lastAccountJson},"component":${lastComponentJson},"server":${cachedJson(server)},"timestamp":`;
    lastMembersOf = { account: lastAccountJson, component: lastComponentJson, server };
  }
  return lastMembersJson;
}

const isText = (value: unknown): boolean => typeof value === 'string';
const isTextOrAbsent = (value: unknown): boolean => value === undefined || typeof value === 'string';

/**
 * Whether two accounts of envelopes built here have the same JSON: the same
 * texts (or absent) in every member, no email list or groups, and equal
 * peers. buildAccount adds an optional member only when it is given, so
 * equal members are the same keys in the same order. Anything else (a list,
 * a member that is not a text) is compared by its JSON, as before.
 */
function sameAccount(a: EventAccount, b: EventAccount): boolean {
  if (a.emails !== undefined || b.emails !== undefined || a.groups !== undefined || b.groups !== undefined) return false;
  if (a.uuid !== b.uuid || a.name !== b.name || a.email !== b.email || a.role !== b.role) return false;
  if (!isText(a.uuid) || !isText(a.name) || !isTextOrAbsent(a.email) || !isTextOrAbsent(a.role)) return false;
  const p = a.peer;
  const q = b.peer;
  if (p === q) return isText(p.address) && typeof p.port === 'number' && isText(p.protocol) && isText(p.family);
  return p.address === q.address && p.port === q.port && p.protocol === q.protocol && p.family === q.family &&
    isText(p.address) && typeof p.port === 'number' && isText(p.protocol) && isText(p.family);
}

/** Whether two components have the same JSON: the same three texts. */
function sameComponent(a: EventComponent, b: EventComponent): boolean {
  return a.uuid === b.uuid && a.name === b.name && a.type === b.type && isText(a.uuid) && isText(a.name) && isText(a.type);
}

let lastStampJsonOf: EventTimestamp | undefined;
let lastStampJson = '';
let lastStampBytesOf: EventTimestamp | undefined;
let lastStampBytes: Buffer = Buffer.alloc(0);

// Events of one millisecond share their timestamp object (timestampAt): its JSON is made once.
function timestampJson(stamp: EventTimestamp): string {
  if (stamp !== lastStampJsonOf) {
    lastStampJson = JSON.stringify(stamp);
    lastStampJsonOf = stamp;
  }
  return lastStampJson;
}

function timestampBytes(stamp: EventTimestamp): Buffer {
  if (stamp !== lastStampBytesOf) {
    lastStampBytes = Buffer.from(timestampJson(stamp), 'utf8');
    lastStampBytesOf = stamp;
  }
  return lastStampBytes;
}

// The members' text of the last event written as parts, and its bytes (the text is one of membersJson's cached ones).
let lastMembersBytesOf = '';
let lastMembersBytes: Buffer = Buffer.alloc(0);

function membersBytes(event: HookworkEvent): Buffer {
  const json = membersJson(event);
  if (json !== lastMembersBytesOf) {
    lastMembersBytes = Buffer.from(json, 'utf8');
    lastMembersBytesOf = json;
  }
  return lastMembersBytes;
}

const DATA_KEY = Buffer.from(',"data":', 'latin1');
const EMPTY_MESSAGE_JSON = '""';
const CLOSE_BRACE = 0x7d;

/**
 * The bytes of eventCopyJsonText's text, kept as its parts and written
 * straight into a buffer (a process's frame): the cached parts as their
 * bytes, the event's own (its uuid, message and data's JSON) encoded in
 * place. The text of the whole (~600 characters an event, and the list it
 * was joined from) is never made: a thousand events in flight were a
 * thousand such texts for the young generation to copy or drop, and one
 * more pass over each (its UTF-8 length).
 */
export class EventJsonParts {
  readonly #entry: EntryJson;
  readonly #uuid: string;
  readonly #message: string;
  readonly #members: Buffer;
  readonly #stamp: Buffer;
  readonly #data: string;
  readonly #dataBytes: number;
  /** The text's UTF-8 length. */
  readonly bytes: number;

  constructor(event: HookworkEvent) {
    const entry = entryJsonOf(event);
    const before = (entry.beforeUuidBytes ??= Buffer.from(entry.beforeUuid, 'utf8'));
    const after = (entry.afterUuidBytes ??= Buffer.from(entry.afterUuid, 'utf8'));
    this.#entry = entry;
    this.#uuid = JSON.stringify(event.uuid);
    this.#message = event.message === '' ? EMPTY_MESSAGE_JSON : JSON.stringify(event.message);
    this.#members = membersBytes(event);
    this.#stamp = timestampBytes(event.timestamp);
    this.#data = event.data_json;
    this.#dataBytes = Buffer.byteLength(this.#data, 'utf8');
    this.bytes =
      before.length + Buffer.byteLength(this.#uuid, 'utf8') + after.length + Buffer.byteLength(this.#message, 'utf8') +
      this.#members.length + this.#stamp.length + DATA_KEY.length + this.#dataBytes + 1;
  }

  /** Writes the text's bytes at `at` (`bytes` of room there). */
  writeInto(target: Buffer, at: number): void {
    const entry = this.#entry;
    const before = entry.beforeUuidBytes as Buffer;
    const after = entry.afterUuidBytes as Buffer;
    target.set(before, at);
    at += before.length;
    at += target.write(this.#uuid, at, 'utf8');
    target.set(after, at);
    at += after.length;
    at += target.write(this.#message, at, 'utf8');
    target.set(this.#members, at);
    at += this.#members.length;
    target.set(this.#stamp, at);
    at += this.#stamp.length;
    target.set(DATA_KEY, at);
    at += DATA_KEY.length;
    at += target.write(this.#data, at, this.#dataBytes, 'utf8');
    target[at] = CLOSE_BRACE;
  }
}

/**
 * eventCopyJsonText's bytes as parts to write into a buffer (EventJsonParts),
 * for a built event; undefined for another (then stringify its copy).
 */
export function eventCopyJsonParts(event: HookworkEvent): EventJsonParts | undefined {
  return isBuiltEnvelope(event) ? new EventJsonParts(event) : undefined;
}

/**
 * JSON.stringify(event), the same text, assembled from cached parts and the
 * data's JSON (which `data_json` keeps): stringify would walk every member,
 * and serialise `data` twice.
 */
export function eventJsonText(event: HookworkEvent): string {
  return isBuiltEnvelope(event) ? assembledJson(event, true) : JSON.stringify(event);
}

/**
 * The JSON text of the event's members without `data_json` (an extension's
 * worker copy of it, without a granted token: toWorkerCopy), the same text
 * JSON.stringify gives that copy, from the same cached parts as
 * eventJsonText; undefined for an event not built here (then stringify it).
 * Flat at once, where stringify's text is a rope that its first reader
 * (its UTF-8 length) copies flat again.
 */
export function eventCopyJsonText(event: HookworkEvent): string | undefined {
  return isBuiltEnvelope(event) ? assembledJson(event, false) : undefined;
}

/** A built event's JSON text, with or without its `data_json` member. */
function assembledJson(event: HookworkEvent, withDataJson: boolean): string {
  const dataJson = event.data_json;
  const entry = entryJsonOf(event);
  // data_json as a JSON string: stringify's own fast path for a string.
  // (Two replaceAll passes for quotes and backslashes measured slower, and
  // allocated ~460 bytes an event against ~60: a batch of a thousand
  // events made that garbage a thousand times.)
  // join makes the text flat at once; `+` would build a rope that every reader flattens again.
  const parts = [
    entry.beforeUuid, JSON.stringify(event.uuid), entry.afterUuid, event.message === '' ? '""' : JSON.stringify(event.message),
    membersJson(event), timestampJson(event.timestamp), ',"data":', dataJson,
  ];
  if (withDataJson) parts.push(',"data_json":', JSON.stringify(dataJson));
  parts.push('}');
  return parts.join('');
}

/** The event as plain JSON-safe data (no secrets unless granted). */
export function eventToJSON(event: HookworkEvent, options?: { grantToken?: boolean }): Record<string, unknown> {
  const plain = JSON.parse(eventJsonText(event)) as Record<string, unknown>;
  if (options?.grantToken === true && event.account.token !== undefined) {
    (plain['account'] as Record<string, unknown>)['token'] = event.account.token;
  }
  return plain;
}
