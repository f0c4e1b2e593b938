// A Logger that keeps what it was given, so tests can check what was logged.

import type { Logger } from '../../src/logger.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export interface CaptureLogger extends Logger {
  readonly lines: LogLine[];
}

export function captureLogger(lines: LogLine[] = []): CaptureLogger {
  const at =
    (level: LogLine['level']) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, obj: (typeof obj === 'object' && obj !== null ? obj : { value: obj }) as Record<string, unknown>, msg });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => captureLogger(lines),
  };
}
