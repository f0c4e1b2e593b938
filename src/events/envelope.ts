// The immutable event envelope (SFTPPlus seed 000, section 12.4.3).

import { randomUUID } from 'node:crypto';
import { posix, win32 } from 'node:path';
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

function buildAccount(input: AccountInput | undefined): EventAccount {
  const account: Record<string, unknown> = {
    uuid: input?.uuid ?? PROCESS_ACCOUNT_UUID,
    name: input?.name ?? (input?.uuid === undefined ? 'process' : ''),
  };
  if (input?.email !== undefined) account['email'] = input.email;
  if (input?.emails !== undefined) account['emails'] = Object.freeze(input.emails.map((pair) => Object.freeze([...pair])));
  account['peer'] = freezePeer(input?.peer);
  if (input?.token !== undefined) {
    Object.defineProperty(account, 'token', { value: input.token, enumerable: false });
  }
  return Object.freeze(account) as unknown as EventAccount;
}

/** Deep-copies plain data and freezes the copy, so no caller can change an emitted event. */
export function freezeData(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Object.isFrozen(value) && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(freezeData));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = freezeData((value as Record<string, unknown>)[key]);
  return Object.freeze(out);
}

function splitPath(path: string): { file: string; directory: string } {
  const flavour = path.includes('\\') && !path.includes('/') ? win32 : posix;
  return { file: flavour.basename(path), directory: flavour.dirname(path) };
}

/** Adds `file_name`/`directory_name` (and `real_…`) where `path`/`real_path` are present. */
export function deriveDataMembers(data: Record<string, unknown>): Record<string, unknown> {
  const path = data['path'];
  const realPath = data['real_path'];
  if (typeof path !== 'string' && typeof realPath !== 'string') return data;
  const out = { ...data };
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
  return out;
}

export interface EnvelopeParts {
  id: string;
  name: string;
  groups: readonly string[];
  /** Already validated, derived and frozen. */
  data: EventData;
  input: EmitInput;
  server: EventServer;
  /** Renders the message once the rest of the envelope exists. */
  renderMessage: ((event: HookworkEvent) => string) | undefined;
}

/** Builds the frozen envelope. */
export function buildEnvelope(parts: EnvelopeParts): HookworkEvent {
  const { input } = parts;
  const component: EventComponent = Object.freeze({
    uuid: input.component?.uuid ?? NO_COMPONENT_UUID,
    name: input.component?.name ?? '',
    type: input.component?.type ?? '',
  });
  let dataJson: string | undefined;
  const event: Record<string, unknown> = {
    id: parts.id,
    uuid: input.uuid ?? randomUUID(),
    name: parts.name,
    groups: parts.groups,
    message: '',
    account: buildAccount(input.account),
    component,
    server: parts.server,
    timestamp: Object.freeze(formatTimestamp(input.timestampMs ?? Date.now())),
    data: parts.data,
  };
  Object.defineProperty(event, 'data_json', {
    enumerable: true,
    get: () => (dataJson ??= JSON.stringify(parts.data)),
  });
  if (input.message !== undefined) {
    event['message'] = input.message;
  } else if (parts.renderMessage !== undefined) {
    event['message'] = parts.renderMessage(event as unknown as HookworkEvent);
  }
  return Object.freeze(event) as unknown as HookworkEvent;
}

/** The event as plain JSON-safe data (no secrets unless granted). */
export function eventToJSON(event: HookworkEvent, options?: { grantToken?: boolean }): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
  if (options?.grantToken === true && event.account.token !== undefined) {
    (plain['account'] as Record<string, unknown>)['token'] = event.account.token;
  }
  return plain;
}
