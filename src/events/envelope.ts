// The immutable event envelope (SFTPPlus seed 000, section 12.4.3) and how
// it is built. Its data is frozen by freeze-data.ts; its JSON is assembled by
// event-json.ts from the parts this module shares between envelopes.

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

/** The last account sameAccountInput handed out: an account built here, which an emit then takes as is. */
let knownBuilt: EventAccount | undefined;

function buildAccount(input: AccountInput | undefined): EventAccount {
  if (input === undefined) return (processAccount ??= buildAccount({}));
  if (input === knownBuilt) return knownBuilt;
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

// The last component built: an emitter that names the same component every
// time (an extension handler's result events, a gateway's) shares one frozen
// object instead of a copy per event. Its members are compared, not the
// input's identity, so a changed (or mutable) input still gets its own.
let lastComponent: EventComponent = NO_COMPONENT;

function buildComponent(input: ComponentInput | undefined): EventComponent {
  if (input === undefined) return NO_COMPONENT;
  const uuid = input.uuid ?? NO_COMPONENT_UUID;
  const name = input.name ?? '';
  const type = input.type ?? '';
  const last = lastComponent;
  if (last.uuid === uuid && last.name === name && last.type === type) return last;
  return (lastComponent = Object.freeze({ uuid, name, type }));
}

export function buildEnvelope(parts: EnvelopeParts): HookworkEvent {
  const { input } = parts;
  const component = buildComponent(input.component);
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

/** Whether `event` was built here: its JSON parts are then the shared, cached ones. */
export function isBuiltEnvelope(event: HookworkEvent): boolean {
  return (event as unknown as Record<symbol, unknown>)[STATE] !== undefined;
}

/** Whether `event` has the shared process account and the empty component (their JSON is cached once). */
export function hasDefaultMembers(event: HookworkEvent): boolean {
  return event.account === processAccount && event.component === NO_COMPONENT;
}

/**
 * The account of `event` as the account input of another emit on the same
 * account without its secret (an extension's result events): the event's
 * own frozen account when it was built here and has no token, groups or
 * role, which the emit then takes as is instead of copying it (the copy
 * would be equal, member for member and in the same order); else undefined.
 */
export function sameAccountInput(event: HookworkEvent): AccountInput | undefined {
  const account = event.account;
  if (!isBuiltEnvelope(event) || account.token !== undefined || account.groups !== undefined || account.role !== undefined) return undefined;
  knownBuilt = account;
  return account;
}
