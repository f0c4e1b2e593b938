// The `sftpgo` command preset: the positional arguments and environment
// variables SFTPGo passes to its action hooks (seed 001), taken from the
// event, so an existing SFTPGo hook script runs unchanged.

import { lookup, MISSING } from '../events/context.js';
import { stringify } from '../events/template.js';
import type { EventRecord } from '../handlers/target.js';

/** Every variable SFTPGo documents, in its order. */
export const SFTPGO_ENV_NAMES = [
  'SFTPGO_ACTION',
  'SFTPGO_ACTION_USERNAME',
  'SFTPGO_ACTION_PATH',
  'SFTPGO_ACTION_TARGET',
  'SFTPGO_ACTION_SSH_CMD',
  'SFTPGO_ACTION_FILE_SIZE',
  'SFTPGO_ACTION_FS_PROVIDER',
  'SFTPGO_ACTION_BUCKET',
  'SFTPGO_ACTION_ENDPOINT',
  'SFTPGO_ACTION_STATUS',
  'SFTPGO_ACTION_PROTOCOL',
  'SFTPGO_ACTION_OPEN_FLAGS',
] as const;

function first(record: EventRecord, paths: readonly string[], fallback: string): string {
  for (const path of paths) {
    const value = lookup(record, path);
    if (value !== MISSING && value !== undefined && value !== null) return stringify(value);
  }
  return fallback;
}

/** The action name: `data.action`, else the event's catalogue name. */
export function sftpgoAction(record: EventRecord): string {
  return first(record, ['data.action', 'name'], '');
}

/** SFTPGo's environment for one event; numbers default to 0 and strings to empty, as SFTPGo sends them. */
export function sftpgoEnv(record: EventRecord): Record<(typeof SFTPGO_ENV_NAMES)[number], string> {
  return {
    SFTPGO_ACTION: sftpgoAction(record),
    SFTPGO_ACTION_USERNAME: first(record, ['data.username', 'account.name'], ''),
    SFTPGO_ACTION_PATH: first(record, ['data.path'], ''),
    SFTPGO_ACTION_TARGET: first(record, ['data.target_path'], ''),
    SFTPGO_ACTION_SSH_CMD: first(record, ['data.ssh_cmd'], ''),
    SFTPGO_ACTION_FILE_SIZE: first(record, ['data.file_size'], '0'),
    SFTPGO_ACTION_FS_PROVIDER: first(record, ['data.fs_provider'], '0'),
    SFTPGO_ACTION_BUCKET: first(record, ['data.bucket'], ''),
    SFTPGO_ACTION_ENDPOINT: first(record, ['data.endpoint'], ''),
    SFTPGO_ACTION_STATUS: first(record, ['data.status'], '0'),
    SFTPGO_ACTION_PROTOCOL: first(record, ['data.protocol'], ''),
    SFTPGO_ACTION_OPEN_FLAGS: first(record, ['data.open_flags'], '0'),
  };
}

/** SFTPGo's positional arguments: action, username, path, target_path, ssh_cmd. */
export function sftpgoArgs(record: EventRecord): string[] {
  const env = sftpgoEnv(record);
  return [env.SFTPGO_ACTION, env.SFTPGO_ACTION_USERNAME, env.SFTPGO_ACTION_PATH, env.SFTPGO_ACTION_TARGET, env.SFTPGO_ACTION_SSH_CMD];
}
