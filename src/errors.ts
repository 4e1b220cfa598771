/**
 * Errors that callers branch on. Expected outcomes (no session, wrong password, inactive user) are
 * return values, never errors; misuse throws `TypeError`; what is left is infrastructure failure,
 * and each of those is a subclass of {@link LatchkeyError} with a stable `code` and the original
 * error kept as `cause`, so that a failing store is never mistaken for "nobody is logged in"
 * (ASVS 16.5.3, security.md R-01).
 *
 * @module errors
 */

/** Base class of every error latchkey throws on purpose. Test `code`, never the message. */
export class LatchkeyError extends Error {
  /** A stable, machine-readable identifier, e.g. `ERR_LATCHKEY_STORE_UNAVAILABLE`. */
  readonly code: string = 'ERR_LATCHKEY';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Something the request needs is down or saturated, so the answer is 503 with `Retry-After`
 * ("try again later"), never a guess at the user's state. The adapters turn every subclass into
 * that 503.
 */
export class ServiceUnavailableError extends LatchkeyError {
  override readonly code: string = 'ERR_LATCHKEY_UNAVAILABLE';
}

/**
 * A store (SQLite, PostgreSQL, Redis) failed: the adapters answer 503 with `Retry-After`.
 *
 * @example
 * ```ts
 * try { await ctx.user() } catch (e) { if (e instanceof StoreUnavailableError) … }
 * ```
 */
export class StoreUnavailableError extends ServiceUnavailableError {
  override readonly code: string = 'ERR_LATCHKEY_STORE_UNAVAILABLE';
}

/** A store did not answer within the manager's `storeTimeout`: also a 503. */
export class StoreTimeoutError extends StoreUnavailableError {
  override readonly code: string = 'ERR_LATCHKEY_STORE_TIMEOUT';
}

/** Any error of latchkey's, for exhaustive narrowing on `code`. */
export type AnyLatchkeyError = LatchkeyError | ServiceUnavailableError | StoreUnavailableError | StoreTimeoutError;

/** True for failures that mean "try again later" (HTTP 503): a store down, the hasher saturated. */
export function isServiceUnavailable(error: unknown): error is ServiceUnavailableError {
  return error instanceof ServiceUnavailableError;
}
