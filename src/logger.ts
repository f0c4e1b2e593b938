// The logger every part receives. pino by default; anything with these four
// methods fits. Secrets are redacted at the source (non-enumerable tokens),
// and pino's redaction covers the well-known paths on top.

import { destination as pinoDestination, pino } from 'pino';

export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const REDACTED_PATHS: readonly string[] = [
  'token',
  'secret',
  'secrets',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.secret',
  '*.secrets',
  'account.token',
  'event.account.token',
];

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where lines go; stderr by default so stdout stays free for CLI output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'hookwork',
      level: options.level ?? process.env['HOOKWORK_LOG_LEVEL'] ?? 'info',
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    options.destination ?? pinoDestination(2),
  ) as unknown as Logger;
}

/** A logger that drops everything (tests and benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}
