// The options every subcommand that talks to a running gateway takes.

import type { Command } from 'commander';
import { DEFAULT_GATEWAY_URL } from './gateway-client.js';

export type Out = (line: string) => void;
export const STDOUT: Out = (line) => process.stdout.write(`${line}\n`);

export function remoteOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', `the gateway's base URL (default: HOOKWORK_URL or ${DEFAULT_GATEWAY_URL})`)
    .option('--token <token>', 'a bearer token (default: HOOKWORK_TOKEN, which keeps it out of the process list)');
}
