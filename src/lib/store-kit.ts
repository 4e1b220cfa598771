/**
 * What every store class needs and none should write for itself: the option checks of its
 * constructor (an options object, a clock `now`, names and ids that must be strings), the
 * closed-check that makes a closed store reject like a dead backend, the one rule that turns a
 * driver's failure into a coded {@link StoreUnavailableError} keeping it as `cause`, and the
 * background sweep of expired rows. Store-agnostic: SQLite, PostgreSQL, Redis and the memory
 * store use it alike, and it imports no driver.
 *
 * Durations in ms are checked by `requireMs` (duration.ts), which configuration shares.
 *
 * @module lib/store-kit
 */
import { LatchkeyError, StoreUnavailableError } from '../errors.ts';

/** The longest delay `setInterval` and `sqlite3_busy_timeout` take: a signed 32-bit int of ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Misuse (`TypeError`) unless `options` is an object: every store takes one. */
export function requireOptions(owner: string, options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${owner}: options are required`);
}

/** The `now` option: a function returning ms since the epoch, or undefined (the store's own clock: null). */
export function requireClock(owner: string, now: unknown): (() => number) | null {
  if (now === undefined) return null;
  if (typeof now !== 'function') throw new TypeError(`${owner}: now must be a function returning ms`);
  return now as () => number;
}

/**
 * Reads an injected clock whose time a store sends to its backend (SQL BIGINT, Lua numbers): it
 * must be integer ms, or the call is misuse. Stores that compare in JavaScript read theirs directly.
 */
export function readClock(owner: string, now: () => number): number {
  const time = now();
  if (!Number.isSafeInteger(time) || time < 0) throw new TypeError(`${owner}: now() must return integer ms, got ${String(time)}`);
  return time;
}

/** An id, key or digest: a string, else `TypeError` (misuse), before anything reaches the backend. */
export function requireString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  return value;
}

/**
 * Whether a store is closed, and the failures it reports: one per store instance. `owner` names
 * the class in messages (`SqliteStore.getSession() failed`).
 */
export class StoreKit {
  readonly owner: string;
  #closed = false;

  constructor(owner: string) {
    this.owner = owner;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Marks the store closed; false when it already was, so that `close()` stays idempotent. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** Throws {@link StoreUnavailableError} once closed: later calls reject like a dead backend. */
  checkOpen(operation: string): void {
    if (this.#closed) throw new StoreUnavailableError(`${this.owner}.${operation}(): the store is closed`);
  }

  /** What a failed operation rejects with: {@link storeFailure}. */
  failure(operation: string, cause: unknown): Error {
    return storeFailure(this.owner, operation, cause);
  }
}

/**
 * What a failed store call rejects with: misuse (`TypeError`) and latchkey's own coded errors (a
 * schema too new, a duplicate id, a timeout) as they are; anything else, a driver's or a server's
 * error or a reply that cannot be read, becomes a {@link StoreUnavailableError} that keeps it as
 * `cause`, never a null that would read as "absent". The stores and the manager's deadline
 * guard (lib/guarded-store) share this one rule.
 */
export function storeFailure(owner: string, operation: string, cause: unknown): Error {
  if (cause instanceof LatchkeyError || cause instanceof TypeError) return cause;
  return new StoreUnavailableError(`${owner}.${operation}() failed`, { cause });
}

/**
 * Runs `sweep` every `interval` ms (0: never) without keeping the process alive, and never two at
 * once: a slow sweep is not stacked on by the next tick. A failed sweep is retried at the next
 * tick; requests report the failure themselves. Returns the function that stops it.
 */
export function startSweep(interval: number, sweep: () => Promise<unknown>): () => void {
  if (interval === 0) return () => {};
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweep()
      .catch(() => {})
      .finally(() => {
        sweeping = false;
      });
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
