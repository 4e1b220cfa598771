/**
 * The app's logger: one JSON object per line (SEC-70, ASVS 16.4.1), `time` in UTC ISO 8601, then
 * `level` and `event`, then the event's fields. A value can never start a line of its own:
 * `JSON.stringify` escapes CR, LF and the other C0 controls, and the line is escaped further for
 * what some log viewers also take as line breaks or terminal commands (DEL, the C1 controls with
 * NEL among them, U+2028, U+2029). Lines below the configured level (`LOG_LEVEL`) are not built.
 * What goes in a line is the caller's choice, and never a secret (SEC-69): see security-log.ts.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info' });
 * logger.log('warn', 'malicious_csrf', { request_id, reason });
 * // {"time":"2026-01-05T12:00:00.000Z","level":"warn","event":"malicious_csrf","request_id":"…","reason":"…"}
 * ```
 *
 * @module app/log
 */

/** `LOG_LEVEL` values, most verbose first; `silent` writes nothing. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The level of one line. */
export type LineLevel = Exclude<LogLevel, 'silent'>;
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  /** Whether a line at `level` would be written: lets callers skip building it. */
  enabled(level: LineLevel): boolean;
  /** Writes one line, if `level` is enabled. */
  log(level: LineLevel, event: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where each line goes, newline included. Default: stderr. */
  readonly write?: (line: string) => void;
  /** The clock of `time`, ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** Characters JSON leaves raw that a terminal or a log viewer may act on. */
const UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;

function escapeUnsafe(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function writeToStderr(line: string): void {
  process.stderr.write(line);
}

/** Makes a logger. */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  if (threshold < 0) throw new TypeError(`level must be one of ${LOG_LEVELS.join(', ')}`);
  const write = options.write ?? writeToStderr;
  const now = options.now ?? Date.now;
  const enabled = (level: LineLevel) => LOG_LEVELS.indexOf(level) >= threshold;
  return Object.freeze({
    enabled,
    log(level: LineLevel, event: string, fields: LogFields = {}) {
      if (!enabled(level)) return;
      const time = new Date(now()).toISOString();
      let json: string;
      try {
        json = JSON.stringify({ time, level, event, ...fields });
      } catch (error) {
        // A field JSON cannot hold (a BigInt, a cycle) must not turn a request into a 500.
        json = JSON.stringify({ time, level, event, log_error: (error as Error).message });
      }
      write(`${json.replace(UNSAFE, escapeUnsafe)}\n`);
    },
  });
}
