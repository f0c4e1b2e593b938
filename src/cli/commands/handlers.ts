// `hookwork handlers list|start|stop <name>` against a running gateway
// (GET /v1/handlers, POST /v1/handlers/:name/start|stop; an operator token):
// the extension handlers of that gateway, by name or uuid.

import type { Command } from 'commander';
import { EXIT_OK, exitWith } from '../exit-codes.js';
import { gatewayClient, type GatewayTarget } from '../gateway-client.js';
import { remoteOptions, STDOUT, type Out } from '../remote-options.js';

interface HandlerView {
  uuid: string;
  name: string;
  state: string;
  targets: string[];
  inFlight: number;
  counters: Record<string, number>;
  lastError?: { message: string; at: string };
}

const line = (h: HandlerView): string =>
  `${h.name}  ${h.state}  events=${h.targets.join(',')}  handled=${h.counters['handled'] ?? 0} failed=${h.counters['failed'] ?? 0} in-flight=${h.inFlight}` +
  (h.lastError === undefined ? '' : `  last error at ${h.lastError.at}: ${h.lastError.message}`);

export async function runHandlersList(options: GatewayTarget & { json?: boolean }, out: Out = STDOUT): Promise<number> {
  const { handlers } = (await gatewayClient(options).call('GET', '/v1/handlers')) as { handlers: HandlerView[] };
  if (options.json === true) out(JSON.stringify(handlers, null, 2));
  else if (handlers.length === 0) out('No extension handlers.');
  else for (const h of handlers) out(line(h));
  return EXIT_OK;
}

export async function runHandlerAction(action: 'start' | 'stop', name: string, options: GatewayTarget & { json?: boolean }, out: Out = STDOUT): Promise<number> {
  const { handler } = (await gatewayClient(options).call('POST', `/v1/handlers/${encodeURIComponent(name)}/${action}`)) as { handler: HandlerView };
  out(options.json === true ? JSON.stringify(handler, null, 2) : line(handler));
  // A start that failed leaves the handler `failed` (the gateway answers 200 with its state and error).
  return handler.state === 'failed' ? 1 : EXIT_OK;
}

export function handlersCommand(program: Command): void {
  const cmd = program.command('handlers').description('List, start and stop the extension handlers of a running gateway (an operator token)');
  remoteOptions(cmd.command('list').description('List the extension handlers with their state and counters').option('--json', 'print JSON')).action(
    async (options: GatewayTarget & { json?: boolean }) => exitWith(runHandlersList(options)),
  );
  for (const action of ['start', 'stop'] as const) {
    remoteOptions(cmd.command(action).description(`${action === 'start' ? 'Start' : 'Stop'} an extension handler (by name or uuid)`).argument('<name>').option('--json', 'print JSON')).action(
      async (name: string, options: GatewayTarget & { json?: boolean }) => exitWith(runHandlerAction(action, name, options)),
    );
  }
}
