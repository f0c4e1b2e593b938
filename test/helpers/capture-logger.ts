// A Logger that keeps every line it was given, so tests can check what was
// logged. Children share the parent's lines and add their bindings to each
// line's object, as pino's do (tests find a plugin's lines by its binding).

import type { Logger } from '../../src/logger.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export interface CaptureLogger extends Logger {
  readonly lines: LogLine[];
}

export function captureLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): CaptureLogger {
  const at =
    (level: LogLine['level']) =>
    (obj: unknown, msg?: string): void => {
      const fields = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : { value: obj };
      lines.push({ level, obj: { ...bindings, ...fields }, msg });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => captureLogger(lines, { ...bindings, ...more }),
  };
}
