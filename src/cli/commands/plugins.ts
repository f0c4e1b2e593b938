// `hookwork plugins list|load|unload|reload <name>` against a running gateway
// (GET /v1/plugins, POST /v1/plugins/:name/<action>; a superuser token).
// Load, unload and reload happen on every node of a cluster.

import type { Command } from 'commander';
import { EXIT_OK, exitWith } from '../exit-codes.js';
import { gatewayClient, type GatewayTarget } from '../gateway-client.js';
import { remoteOptions, STDOUT, type Out } from '../remote-options.js';

interface PluginView {
  name: string;
  version?: string;
  state: string;
  active: boolean;
  lastError?: { code: string; message: string };
}

const line = (p: PluginView): string =>
  `${p.name}${p.version === undefined ? '' : `@${p.version}`}  ${p.state}${p.active ? '  active' : ''}${p.lastError === undefined ? '' : `  ${p.lastError.code}: ${p.lastError.message}`}`;

export async function runPluginsList(options: GatewayTarget & { json?: boolean }, out: Out = STDOUT): Promise<number> {
  const { plugins } = (await gatewayClient(options).call('GET', '/v1/plugins')) as { plugins: PluginView[] };
  if (options.json === true) out(JSON.stringify(plugins, null, 2));
  else if (plugins.length === 0) out('No plugins.');
  else for (const p of plugins) out(line(p));
  return EXIT_OK;
}

export async function runPluginAction(action: 'load' | 'unload' | 'reload', name: string, options: GatewayTarget & { json?: boolean }, out: Out = STDOUT): Promise<number> {
  const { plugin } = (await gatewayClient(options).call('POST', `/v1/plugins/${encodeURIComponent(name)}/${action}`)) as { plugin: PluginView };
  out(options.json === true ? JSON.stringify(plugin, null, 2) : line(plugin));
  return EXIT_OK;
}

export function pluginsCommand(program: Command): void {
  const cmd = program.command('plugins').description('List, load, unload and reload plugins on a running gateway (a superuser token)');
  remoteOptions(cmd.command('list').description('List the plugins with their state').option('--json', 'print JSON')).action(
    async (options: GatewayTarget & { json?: boolean }) => exitWith(runPluginsList(options)),
  );
  for (const action of ['load', 'unload', 'reload'] as const) {
    remoteOptions(cmd.command(action).description(`${action[0]?.toUpperCase()}${action.slice(1)} a plugin, on every node`).argument('<name>').option('--json', 'print JSON')).action(
      async (name: string, options: GatewayTarget & { json?: boolean }) => exitWith(runPluginAction(action, name, options)),
    );
  }
}
