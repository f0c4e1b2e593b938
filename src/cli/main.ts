#!/usr/bin/env node
// The `hookwork` command. Each subcommand lives in cli/commands/<name>.ts and
// exports a function `<name>Command(program)` that registers it; they are
// found by listing that folder, so adding a subcommand touches no other file.
// Works from source (tsx) and built (node dist/cli/main.js) alike.

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { HOOKWORK_VERSION } from '../server/openapi.js';
import { EXIT_USAGE, exitCodeOf } from './exit-codes.js';

const COMMAND_FILE = /^[\w-]+\.(?:ts|js|mjs)$/;

function isRegistrar(name: string, value: unknown): value is (program: Command) => unknown {
  return typeof value === 'function' && name.endsWith('Command');
}

async function buildProgram(): Promise<Command> {
  const program = new Command('hookwork')
    .description('An extension engine for servers: plugins, event handlers, commands, signed durable webhooks, gates, change hooks and middleware.')
    .version(HOOKWORK_VERSION, '-V, --version', "print Hookwork's version")
    .showHelpAfterError()
    .exitOverride((err) => {
      // Help and --version exit 0; every usage error (unknown command or option, a missing or bad argument) exits 2.
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });
  const folder = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(folder)
    .filter((f) => COMMAND_FILE.test(f) && !f.endsWith('.d.ts') && !f.includes('.test.'))
    .sort();
  for (const file of files) {
    const module = (await import(pathToFileURL(join(folder, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (isRegistrar(name, value)) value(program);
    }
  }
  return program;
}

async function main(): Promise<void> {
  const program = await buildProgram();
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  process.stderr.write(`hookwork: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(exitCodeOf(err));
});
