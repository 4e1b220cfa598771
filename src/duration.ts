/**
 * Durations as people write them in configuration: `500ms`, `90s`, `30m`, `24h`, `30d`, or a
 * number of milliseconds. Parsed once, when options are read.
 *
 * @module duration
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d{1,9})(ms|s|m|h|d)$/;

/**
 * Milliseconds of a duration, or null when `value` is not one. Numbers must be non-negative safe
 * integers; strings are a whole number and one unit, with no spaces.
 *
 * @example
 * ```ts
 * parseDuration('30m') // 1_800_000
 * parseDuration('1.5h') // null
 * ```
 */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = PATTERN.exec(value);
  if (!match) return null;
  const ms = Number(match[1]) * (UNITS[match[2] as string] as number);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** Like {@link parseDuration}, but throws a TypeError naming the option: for validating options. */
export function requireDuration(name: string, value: unknown, min = 0): number {
  const ms = parseDuration(value);
  if (ms === null || ms < min) {
    throw new TypeError(`${name} must be a duration such as "30m" or a number of milliseconds ≥ ${min}, got ${String(value)}`);
  }
  return ms;
}

/**
 * Checks a duration or time that reaches a store as milliseconds: an integer in [min, max], else
 * `TypeError` (a caller's bug, never a user's input). Shared by every store.
 */
export function requireMs(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer number of milliseconds from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
