// The logger every part receives. pino by default; anything with these four
// methods fits. Secrets are redacted at the source (non-enumerable tokens),
// and pino's redaction covers the well-known paths on top.

import { AsyncLocalStorage } from 'node:async_hooks';
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

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** `json` (one JSON object a line, the default) or `pretty` (one human line: time, level, message, fields). */
  format?: LogFormat;
  /** Where lines go; stderr by default so stdout stays free for CLI output. */
  destination?: NodeJS.WritableStream;
}

// The gateway runs each request inside requestIds.run(id): every line logged
// while it is served (by the gateway, the host, the delivery queue) carries
// `reqId`, without passing a child logger through every layer.
const requestIds = new AsyncLocalStorage<string>();

/** Runs `fn` as part of the request `id`: lines logged meanwhile carry `reqId`. */
export function withRequestId<T>(id: string, fn: () => T): T {
  return requestIds.run(id, fn);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pinoDestination(2);
  return pino(
    {
      name: options.name ?? 'hookwork',
      level: options.level ?? process.env['HOOKWORK_LOG_LEVEL'] ?? 'info',
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      mixin() {
        const id = requestIds.getStore();
        // A fresh object each time: pino adds the line's fields to it.
        return id === undefined ? {} : { reqId: id };
      },
    },
    options.format === 'pretty' ? prettyStream(destination) : destination,
  ) as unknown as Logger;
}

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in the line's head rather than as key=value. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/**
 * A stream pino writes its JSON lines to, turned into one human line each:
 * `12:00:01.234 INFO  message key=value …` (an error's stack on the lines
 * after). No dependency: pino-pretty would pull a transport thread in.
 */
function prettyStream(out: { write(text: string): boolean }): { write(line: string): boolean } {
  return {
    write(line: string): boolean {
      return out.write(prettyLine(line));
    },
  };
}

export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record['time'] === 'number' ? new Date(record['time']).toISOString().slice(11, 23) : '';
  const level = (LEVELS[record['level'] as number] ?? String(record['level'])).padEnd(5);
  let text = `${time} ${level} ${typeof record['msg'] === 'string' ? record['msg'] : ''}`;
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (HEAD_FIELDS.has(key)) continue;
    if (key === 'err' && value !== null && typeof value === 'object') {
      const err = value as { message?: unknown; stack?: unknown };
      text += ` err=${JSON.stringify(err.message ?? '')}`;
      if (typeof err.stack === 'string') stack = `\n  ${err.stack.split('\n').join('\n  ')}`;
      continue;
    }
    text += ` ${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`;
  }
  return `${text}${stack}\n`;
}

/** A logger that drops everything (tests and benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}
