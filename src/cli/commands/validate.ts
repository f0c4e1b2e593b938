// `hookwork validate [PATH]`: loads a config as `serve` would (with the
// `webhooks_path` files it names), then imports every extension entry point
// and active plugin module (config/check-modules.ts), and prints every
// problem, one per line (`file: key: message`). Exit 1 on problems, 0 when
// the config is valid (warnings, `warning: file: key: message`, do not fail it). Nothing is started and nothing is written.

import { relative, sep } from 'node:path';
import type { Command } from 'commander';
import { checkModules } from '../../config/check-modules.js';
import { loadConfig } from '../../config/load.js';
import { ConfigError, formatConfigProblem, type ConfigProblem } from '../../errors.js';

function shortPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') ? rel : file;
}

function display(problem: ConfigProblem): string {
  // Messages may name another place (`already declared at /abs/a.yaml: …`): shorten those too.
  const message = problem.message.split(`${process.cwd()}${sep}`).join('');
  return formatConfigProblem({ ...problem, message, ...(problem.file === undefined ? {} : { file: shortPath(problem.file) }) });
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Runs the validation; returns the exit code (for the CLI and for tests). */
export async function runValidate(path: string | undefined, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  try {
    const { config, files, webhookFiles, webhooks, baseDir, warnings } = await loadConfig(path, { env: process.env });
    const problems = await checkModules(config, baseDir);
    if (problems.length > 0) throw new ConfigError(problems);
    // Accepted, but most likely a mistake: listed, and the exit code stays 0.
    for (const warning of warnings) out(`warning: ${display(warning)}`);
    out(
      `OK: ${plural(files.length + webhookFiles.length, 'file')} valid (${plural(config.events.length, 'event')}, ` +
        `${plural(config.handlers.length, 'handler')}, ${plural(webhooks.length, 'webhook')}, ` +
        `${plural(Object.keys(config.gates).length, 'gate')}).`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) out(display(problem));
    err(`The config was refused: ${plural(error.problems.length, 'problem')}.`);
    return 1;
  }
}

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('Check a config (a file or a folder of files) and list every problem with its file and key')
    .argument('[path]', 'a .yaml/.yml/.json/.ini/.conf file or a folder of them (default: the embedded default config)')
    .action(async (path: string | undefined) => {
      const code = await runValidate(
        path,
        (line) => process.stdout.write(`${line}\n`),
        (line) => process.stderr.write(`${line}\n`),
      );
      // The modules imported may hold the event loop open (a timer at top level): exit now.
      process.exit(code);
    });
}
