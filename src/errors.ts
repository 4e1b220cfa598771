/**
 * Errors that callers branch on. Expected outcomes (no session, wrong password, inactive user) are
 * return values, never errors; misuse throws `TypeError`; what is left is infrastructure failure
 * and a deployment mistake, and each of those is a subclass of {@link LatchkeyError} with a stable,
 * literal `code` (so `switch (error.code)` narrows, as jose's errors do) and the original error kept
 * as `cause`, so that a failing store is never mistaken for "nobody is logged in" (ASVS 16.5.3,
 * Every error class latchkey throws on purpose lives here.
 *
 * @module errors
 */

/** Every `code` latchkey's errors carry: stable, for tests and `switch`. */
export type LatchkeyErrorCode =
  | 'ERR_LATCHKEY'
  | 'ERR_LATCHKEY_UNAVAILABLE'
  | 'ERR_LATCHKEY_STORE_UNAVAILABLE'
  | 'ERR_LATCHKEY_STORE_TIMEOUT'
  | 'ERR_LATCHKEY_HASHER_BUSY'
  | 'ERR_LATCHKEY_SCHEMA_TOO_NEW'
  | 'ERR_LATCHKEY_UNSUPPORTED_RUNTIME';

/** Base class of every error latchkey throws on purpose. Test `code`, never the message. */
export class LatchkeyError extends Error {
  /** A stable, machine-readable identifier, e.g. `ERR_LATCHKEY_STORE_UNAVAILABLE`. */
  readonly code: LatchkeyErrorCode = 'ERR_LATCHKEY';

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
  override readonly code: 'ERR_LATCHKEY_UNAVAILABLE' | StoreUnavailableError['code'] | HasherBusyError['code'] = 'ERR_LATCHKEY_UNAVAILABLE';
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
  override readonly code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' | StoreTimeoutError['code'] = 'ERR_LATCHKEY_STORE_UNAVAILABLE';
}

/** A store did not answer within the manager's `storeTimeout`: also a 503. */
export class StoreTimeoutError extends StoreUnavailableError {
  override readonly code = 'ERR_LATCHKEY_STORE_TIMEOUT' as const;
}

/**
 * Too many password hashes are running and waiting: answer 503 with `Retry-After` (SEC-12).
 *
 * @example
 * ```ts
 * try { await hasher.verify(pw, row.hash) } catch (e) { if (e instanceof HasherBusyError) … }
 * ```
 */
export class HasherBusyError extends ServiceUnavailableError {
  override readonly code = 'ERR_LATCHKEY_HASHER_BUSY' as const;
}

/**
 * A store's tables carry a schema version newer than this latchkey knows: a newer release migrated
 * the database, and this one would misread it. Not a {@link ServiceUnavailableError}: retrying
 * cannot help, so it is no 503 with `Retry-After` but a deployment mistake to fix (upgrade
 * latchkey, or restore the database). Stores throw it from their migration, at start-up when the
 * app pings or migrates there.
 *
 * @example
 * ```ts
 * try { await store.migrate() } catch (e) { if (e instanceof SchemaVersionError) exit(e.message) }
 * ```
 */
export class SchemaVersionError extends LatchkeyError {
  override readonly code = 'ERR_LATCHKEY_SCHEMA_TOO_NEW' as const;

  /** @param table the table that records the version; `found` what it says; `known` what this code knows. */
  constructor(table: string, found: string, known: number) {
    super(`${table} says schema version ${found}; this latchkey knows ${known}: upgrade latchkey`);
  }
}

/**
 * This Node.js is older than latchkey needs (package.json `engines`): thrown when a latchkey entry
 * is imported, before anything fails later in an obscure way (a missing `node:sqlite`, `URL.parse`
 * or `crypto.argon2`). A deployment mistake, not a 503: the message names the version to install.
 */
export class UnsupportedRuntimeError extends LatchkeyError {
  override readonly code = 'ERR_LATCHKEY_UNSUPPORTED_RUNTIME' as const;
}

/** Any error of latchkey's, for exhaustive narrowing on `code`. */
export type AnyLatchkeyError =
  | LatchkeyError
  | ServiceUnavailableError
  | StoreUnavailableError
  | StoreTimeoutError
  | HasherBusyError
  | SchemaVersionError
  | UnsupportedRuntimeError;

/** True for failures that mean "try again later" (HTTP 503): a store down, the hasher saturated. */
export function isServiceUnavailable(error: unknown): error is ServiceUnavailableError {
  return error instanceof ServiceUnavailableError;
}
