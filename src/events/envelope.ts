// The immutable event envelope (SFTPPlus seed 000, section 12.4.3).

import { posix, win32 } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { newEventUuid } from './event-uuid.js';
import type { Template } from './template.js';
import { formatTimestamp, type EventTimestamp } from './timestamp.js';

export interface EventPeer {
  readonly address: string;
  readonly port: number;
  /** OSI layer 4 protocol: `TCP` or `UDP`. */
  readonly protocol: string;
  /** `IPv4` or `IPv6`. */
  readonly family: string;
}

export interface EventAccount {
  readonly uuid: string;
  readonly name: string;
  readonly email?: string;
  /** (name, email) pairs. */
  readonly emails?: ReadonlyArray<readonly [string, string]>;
  /** The account's groups in the host (SFTPGo's groups), for conditions such as `account.groups: { in: [admins] }`. */
  readonly groups?: readonly string[];
  /** The account's role in the host (SFTPGo's admin role), for conditions. */
  readonly role?: string;
  /**
   * A secret (an impersonation or OAuth2 token). Stored non-enumerable: it
   * never appears in JSON, logs or worker copies unless a target is granted it.
   */
  readonly token?: string;
  readonly peer: EventPeer;
}

export interface EventComponent {
  readonly uuid: string;
  readonly name: string;
  readonly type: string;
}

export interface EventServer {
  readonly uuid: string;
  readonly name: string;
}

export type EventData = Readonly<Record<string, unknown>>;

export interface HookworkEvent<D extends EventData = EventData> {
  readonly id: string;
  readonly uuid: string;
  /** The catalogue name of `id`. */
  readonly name: string;
  readonly groups: readonly string[];
  readonly message: string;
  readonly account: EventAccount;
  readonly component: EventComponent;
  readonly server: EventServer;
  readonly timestamp: EventTimestamp;
  readonly data: D;
  /** `data` as JSON (computed on first read). */
  readonly data_json: string;
}

export interface AccountInput {
  uuid?: string;
  name?: string;
  email?: string;
  emails?: ReadonlyArray<readonly [string, string]>;
  /** The account's groups in the host (SFTPGo's user groups). */
  groups?: readonly string[];
  /** The account's role in the host (SFTPGo's role). */
  role?: string;
  token?: string;
  peer?: Partial<EventPeer>;
}

export interface ComponentInput {
  uuid?: string;
  name?: string;
  type?: string;
}

/** What a caller gives `emit`; everything is optional but the id. */
export interface EmitInput<D extends EventData = EventData> {
  data?: D;
  account?: AccountInput;
  component?: ComponentInput;
  /** Overrides the message rendered from the catalogue template. */
  message?: string;
  /** For replays and the gateway: keep a given uuid / time. */
  uuid?: string;
  timestampMs?: number;
}

/** SFTPPlus's special accounts: the process itself, and a peer not yet authenticated. */
export const PROCESS_ACCOUNT_UUID = '00000000-0000-0000-0000-000000000001';
export const PEER_ACCOUNT_UUID = '00000000-0000-0000-0000-000000000002';
const NO_COMPONENT_UUID = '00000000-0000-0000-0000-000000000000';

function freezePeer(peer: Partial<EventPeer> | undefined): EventPeer {
  const address = peer?.address ?? '';
  return Object.freeze({
    address,
    port: peer?.port ?? 0,
    protocol: peer?.protocol ?? 'TCP',
    family: peer?.family ?? (address.includes(':') ? 'IPv6' : 'IPv4'),
  });
}

/** The account of events emitted without one: shared, like its JSON. */
let processAccount: EventAccount | undefined;

function buildAccount(input: AccountInput | undefined): EventAccount {
  if (input === undefined) return (processAccount ??= buildAccount({}));
  const account: Record<string, unknown> = {
    uuid: input?.uuid ?? PROCESS_ACCOUNT_UUID,
    name: input?.name ?? (input?.uuid === undefined ? 'process' : ''),
  };
  if (input?.email !== undefined) account['email'] = input.email;
  if (input?.emails !== undefined) account['emails'] = Object.freeze(input.emails.map((pair) => Object.freeze([...pair])));
  if (input?.groups !== undefined) account['groups'] = Object.freeze([...input.groups]);
  if (input?.role !== undefined) account['role'] = input.role;
  account['peer'] = freezePeer(input?.peer);
  if (input?.token !== undefined) {
    Object.defineProperty(account, 'token', { value: input.token, enumerable: false });
  }
  return Object.freeze(account) as unknown as EventAccount;
}

/** A value in `data` that JSON cannot carry faithfully; `path` is filled in while unwinding. */
class NotJsonShaped {
  readonly problem: string;
  readonly path: Array<string | number> = [];
  constructor(problem: string) {
    this.problem = problem;
  }
}

const MAX_DATA_DEPTH = 200;

/** What a non-plain object is, for the error message, with a hint to convert it. */
function describeObject(value: object): string {
  if (value instanceof Map) return 'is a Map (convert it first, e.g. Object.fromEntries(map))';
  if (value instanceof Set) return 'is a Set (convert it first, e.g. [...set])';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `is binary data (${value.constructor.name}); encode it first, e.g. as a base64 string`;
  }
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return `is an instance of ${typeof name === 'string' && name !== '' ? name : 'a class'} (pass a plain object with its fields instead)`;
}

function copyData(value: unknown, depth: number, derive = false): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new NotJsonShaped(`is ${String(value)}, which JSON cannot hold`);
    case 'object':
      break;
    case 'bigint':
      throw new NotJsonShaped('is a bigint (pass a number or a string)');
    default:
      throw new NotJsonShaped(`is a ${typeof value}`);
  }
  if (value === null) return null;
  if (depth >= MAX_DATA_DEPTH) throw new NotJsonShaped(`is nested more than ${MAX_DATA_DEPTH} levels deep (a circular reference?)`);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    let i = 0;
    try {
      for (; i < value.length; i++) out[i] = copyData(value[i], depth + 1);
    } catch (err) {
      if (err instanceof NotJsonShaped) err.path.unshift(i);
      throw err;
    }
    return Object.freeze(out);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw new NotJsonShaped('is an invalid Date');
      return value.toISOString();
    }
    throw new NotJsonShaped(describeObject(value));
  }
  return copyObject(value as Record<string, unknown>, depth, derive);
}

function copyObject(value: Record<string, unknown>, depth: number, derive: boolean): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  let key = '';
  try {
    for (let i = 0; i < keys.length; i++) {
      key = keys[i] as string;
      const copy = copyData(value[key], depth + 1);
      // An own "__proto__" member (JSON.parse makes them) stays a member, not the copy's prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
      else out[key] = copy;
    }
  } catch (err) {
    if (err instanceof NotJsonShaped) err.path.unshift(key);
    throw err;
  }
  if (derive) addDerivedMembers(out);
  return Object.freeze(out);
}

/**
 * Deep-copies JSON-shaped data and freezes the copy, so no caller can change
 * an emitted event. Plain objects (or null-prototype ones), arrays, strings,
 * finite numbers, booleans and null are kept; a Date becomes its ISO string.
 * Anything else (a Map, Set, class instance, buffer, function, bigint, NaN…)
 * would not survive JSON, so it is refused with InvalidArgumentError naming
 * its path (`data.files.0.meta`).
 */
export function freezeData(value: unknown, options?: { deriveMembers?: boolean }): unknown {
  try {
    return copyData(value, 0, options?.deriveMembers === true);
  } catch (err) {
    if (!(err instanceof NotJsonShaped)) throw err;
    const path = err.path.length > 12 ? [...err.path.slice(0, 12), '…'] : err.path;
    throw new InvalidArgumentError(
      `Event data member "${['data', ...path].join('.')}" ${err.problem}. Event data must be JSON-shaped: plain objects, arrays, strings, finite numbers, booleans and null (a Date becomes its ISO string).`,
    );
  }
}

function splitPath(path: string): { file: string; directory: string } {
  const flavour = path.includes('\\') && !path.includes('/') ? win32 : posix;
  return { file: flavour.basename(path), directory: flavour.dirname(path) };
}

/** Adds `file_name`/`directory_name` (and `real_…`) where `path`/`real_path` are present, on a copy being built. */
function addDerivedMembers(out: Record<string, unknown>): void {
  const path = out['path'];
  const realPath = out['real_path'];
  if (typeof path === 'string' && path !== '') {
    const { file, directory } = splitPath(path);
    if (out['file_name'] === undefined) out['file_name'] = file;
    if (out['directory_name'] === undefined) out['directory_name'] = directory;
  }
  if (typeof realPath === 'string' && realPath !== '') {
    const { file, directory } = splitPath(realPath);
    if (out['real_file_name'] === undefined) out['real_file_name'] = file;
    if (out['real_directory_name'] === undefined) out['real_directory_name'] = directory;
  }
}

export interface EnvelopeParts {
  id: string;
  name: string;
  groups: readonly string[];
  /** Already validated, derived and frozen. */
  data: EventData;
  input: EmitInput;
  server: EventServer;
  /** The catalogue's message template, rendered once the rest of the envelope exists. */
  message: Pick<Template<string>, 'render'> | undefined;
}

/** Builds the frozen envelope. */
// Events emitted in the same millisecond share one frozen timestamp: a burst
// formats its seven forms once, not once per event.
let lastStampMs = Number.NaN;
let lastStamp: EventTimestamp | undefined;

function timestampAt(epochMs: number): EventTimestamp {
  if (epochMs !== lastStampMs || lastStamp === undefined) {
    lastStamp = Object.freeze(formatTimestamp(epochMs));
    lastStampMs = epochMs;
  }
  return lastStamp;
}

/**
 * Marks envelopes built here and holds what they compute on first use (an
 * envelope is frozen; the holder is not). Its presence lets eventJsonText
 * assemble the JSON from cached parts.
 */
const STATE = Symbol('hookwork.envelope');

interface EnvelopeState {
  dataJson: string | undefined;
}

// One getter for every envelope: an accessor is part of an object's hidden
// class, so a closure per event would give each event a shape of its own.
const DATA_JSON: PropertyDescriptor = {
  enumerable: true,
  get(this: Record<symbol, EnvelopeState> & { data: unknown }): string {
    const state = this[STATE];
    if (state === undefined) return JSON.stringify(this.data);
    return (state.dataJson ??= JSON.stringify(this.data));
  },
};

const NO_COMPONENT: EventComponent = Object.freeze({ uuid: NO_COMPONENT_UUID, name: '', type: '' });

export function buildEnvelope(parts: EnvelopeParts): HookworkEvent {
  const { input } = parts;
  const component: EventComponent =
    input.component === undefined
      ? NO_COMPONENT
      : Object.freeze({
          uuid: input.component.uuid ?? NO_COMPONENT_UUID,
          name: input.component.name ?? '',
          type: input.component.type ?? '',
        });
  const event: Record<string, unknown> = {
    id: parts.id,
    uuid: input.uuid ?? newEventUuid(),
    name: parts.name,
    groups: parts.groups,
    message: '',
    account: buildAccount(input.account),
    component,
    server: parts.server,
    timestamp: timestampAt(input.timestampMs ?? Date.now()),
    data: parts.data,
  };
  Object.defineProperty(event, 'data_json', DATA_JSON);
  Object.defineProperty(event, STATE, { value: { dataJson: undefined } satisfies EnvelopeState });
  if (input.message !== undefined) {
    event['message'] = input.message;
  } else if (parts.message !== undefined) {
    event['message'] = parts.message.render([event]);
  }
  return Object.freeze(event) as unknown as HookworkEvent;
}

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
  };
  if (entryJson.size >= MAX_ENTRY_JSON) entryJson.clear();
  entryJson.set(event.name, made);
  return made;
}

// `,"account":…,"component":…,"server":…,"timestamp":` for events with the default account and component.
let defaultsServer: EventServer | undefined;
let defaultsJson = '';

function membersJson(event: HookworkEvent): string {
  if (event.account === processAccount && event.component === NO_COMPONENT) {
    if (event.server !== defaultsServer) {
      defaultsJson = `,"account":${JSON.stringify(processAccount)},"component":${JSON.stringify(NO_COMPONENT)},"server":${JSON.stringify(event.server)},"timestamp":`;
      defaultsServer = event.server;
    }
    return defaultsJson;
  }
  return `,"account":${JSON.stringify(event.account)},"component":${JSON.stringify(event.component)},"server":${cachedJson(event.server)},"timestamp":`;
}

let lastStampJsonOf: EventTimestamp | undefined;
let lastStampJson = '';

// Events of one millisecond share their timestamp object (timestampAt): its JSON is made once.
function timestampJson(stamp: EventTimestamp): string {
  if (stamp !== lastStampJsonOf) {
    lastStampJson = JSON.stringify(stamp);
    lastStampJsonOf = stamp;
  }
  return lastStampJson;
}

/**
 * JSON.stringify(event), the same text, assembled from cached parts and the
 * data's JSON (which `data_json` keeps): stringify would walk every member,
 * and serialise `data` twice.
 */
export function eventJsonText(event: HookworkEvent): string {
  if ((event as unknown as Record<symbol, unknown>)[STATE] === undefined) return JSON.stringify(event);
  const dataJson = event.data_json;
  const entry = entryJsonOf(event);
  // data_json as a JSON string. It is JSON.stringify output: no control
  // characters or lone surrogates are left raw in it, so quotes and
  // backslashes are all there is to escape (two native searches, faster
  // than stringify's walk of every character).
  const escaped = (dataJson.includes('\\') ? dataJson.replaceAll('\\', '\\\\') : dataJson).replaceAll('"', '\\"');
  // join makes the text flat at once; `+` would build a rope that every reader flattens again.
  return [
    entry.beforeUuid, JSON.stringify(event.uuid), entry.afterUuid, event.message === '' ? '""' : JSON.stringify(event.message),
    membersJson(event), timestampJson(event.timestamp), ',"data":', dataJson, ',"data_json":"', escaped, '"}',
  ].join('');
}

/** The event as plain JSON-safe data (no secrets unless granted). */
export function eventToJSON(event: HookworkEvent, options?: { grantToken?: boolean }): Record<string, unknown> {
  const plain = JSON.parse(eventJsonText(event)) as Record<string, unknown>;
  if (options?.grantToken === true && event.account.token !== undefined) {
    (plain['account'] as Record<string, unknown>)['token'] = event.account.token;
  }
  return plain;
}
