// The `hookwork` exit codes, the same for every subcommand (docs/cli.md):
// 0 ok; 1 problems found (a refused config in `validate`, a failed operation,
// an error answer from the gateway, a gateway that cannot be reached);
// 2 usage or config error (bad arguments or options, a config that cannot be
// read or is refused where the command needs it to run).

import { ConfigError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

/** A command-line mistake (a bad --url, a missing token): exit 2. */
export class UsageError extends Error {}

/** The exit code for an error a command failed with. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT_USAGE;
  const code = (err as { code?: unknown }).code;
  // The config path named cannot be read.
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return EXIT_USAGE;
  return EXIT_PROBLEMS;
}

/** Runs a command's work, prints its failure on stderr and sets the exit code. */
export function exitWith(run: Promise<number>): Promise<void> {
  return run.then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`hookwork: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = exitCodeOf(err);
    },
  );
}
