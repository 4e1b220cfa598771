/**
 * The storage contract of one-time tokens: the links of a password reset, an email verification
 * and an email change (SEC-57, SEC-61, SEC-63). The user receives 32 random bytes
 * (base64url); the store keeps only their SHA-256, so a copy of the database opens no account
 * (SEC-21's rule for sessions, applied to links). A token is bound to a user, a purpose and the
 * address it was sent to, so that a reset token cannot verify an address and a verification sent
 * to an old address cannot verify a new one.
 *
 * **Time is the store's,** as in {@link Store}: callers pass a lifetime in ms, the store stamps
 * `createdAt` and `expiresAt` with its own clock, and a token is live while `now < expiresAt`.
 * Expired tokens read as absent; a store deletes them as it finds them and sweeps the rest (R-09).
 *
 * **Consumed once, atomically.** `consumeToken` deletes and returns the live token in one step
 * (`DELETE … RETURNING`, a Lua script): of two parallel consumptions exactly one gets it (R-05,
 * SEC-57). `findToken` reads without consuming, for a page that only shows a form (SEC-42: mail
 * scanners follow GET links).
 *
 * The conformance suite `describeTokenStoreConformance` (`latchkey/testing`) runs unchanged
 * against every implementation.
 *
 * @module token-store
 */

/** What a caller asks a store to keep. */
export interface NewOneTimeToken {
  /** base64url SHA-256 of the token the user receives (43 characters). The raw token is never stored. */
  readonly hash: string;
  readonly userId: string;
  /** What the token is for: `reset`, `verify`, `email-change`… (`/^[a-z][a-z0-9-]{0,31}$/`). */
  readonly purpose: string;
  /** The canonical address the token was sent to (and, for an email change, the address it confirms); null for none. */
  readonly email: string | null;
  /** Milliseconds the token lives, counted from now on the store's clock; a positive safe integer. */
  readonly lifetime: number;
}

/** A live token, as a store returns it. Timestamps are ms since the epoch on the store's clock. */
export interface OneTimeToken {
  readonly hash: string;
  readonly userId: string;
  readonly purpose: string;
  readonly email: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** One-time tokens: four methods, `null` meaning absent; a failing backend rejects. */
export interface TokenStore {
  /** Stores a token; a hash that exists already is a bug (128 random bits do not collide) and rejects. */
  createToken(token: NewOneTimeToken): Promise<OneTimeToken>;
  /** The live token with this hash and purpose, without consuming it; null otherwise. */
  findToken(hash: string, purpose: string): Promise<OneTimeToken | null>;
  /** Deletes and returns the live token with this hash and purpose, atomically; null otherwise. */
  consumeToken(hash: string, purpose: string): Promise<OneTimeToken | null>;
  /** Deletes every token of the user (of one purpose, when given); returns how many live ones it deleted. */
  deleteUserTokens(userId: string, purpose?: string): Promise<number>;
}

/** The methods of a {@link TokenStore}, for the shape check and the deadline guard. */
export const TOKEN_STORE_METHODS = ['createToken', 'findToken', 'consumeToken', 'deleteUserTokens'] as const satisfies readonly (keyof TokenStore)[];

/** Whether `value` has every method of a {@link TokenStore}. */
export function isTokenStore(value: unknown): value is TokenStore {
  return typeof value === 'object' && value !== null && TOKEN_STORE_METHODS.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

const PURPOSE = /^[a-z][a-z0-9-]{0,31}$/;
/** A base64url SHA-256 digest, as stores keep tokens and recovery codes (43 characters). */
export const DIGEST = /^[A-Za-z0-9_-]{43}$/;

/** Misuse of a {@link NewOneTimeToken} or a lookup throws TypeError, the same in every store. */
export function checkTokenArguments(owner: string, token: { hash: unknown; purpose: unknown; userId?: unknown; email?: unknown; lifetime?: unknown }): void {
  if (typeof token.hash !== 'string' || !DIGEST.test(token.hash)) throw new TypeError(`${owner}: a token hash is 43 base64url characters`);
  checkPurpose(owner, token.purpose);
  if ('userId' in token) checkUserId(owner, token.userId);
  if ('email' in token && token.email !== null && (typeof token.email !== 'string' || token.email.length > 320)) {
    throw new TypeError(`${owner}: email must be a string of at most 320 characters, or null`);
  }
  if ('lifetime' in token && !(Number.isSafeInteger(token.lifetime) && (token.lifetime as number) > 0)) {
    throw new TypeError(`${owner}: lifetime must be a positive integer of ms`);
  }
}

/**
 * Misuse of {@link TokenStore.deleteUserTokens} throws TypeError, the same in every store: a
 * misspelt purpose would otherwise delete nothing and leave older reset links working (SEC-57).
 */
export function checkUserTokensArguments(owner: string, userId: unknown, purpose: unknown): void {
  checkUserId(owner, userId);
  if (purpose !== undefined) checkPurpose(owner, purpose);
}

function checkPurpose(owner: string, purpose: unknown): void {
  if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) throw new TypeError(`${owner}: purpose must match ${PURPOSE}`);
}

/** Misuse unless `userId` is a non-empty string of at most 255 characters: TypeError, the same in every store. */
export function checkUserId(owner: string, userId: unknown): void {
  if (typeof userId !== 'string' || userId === '' || userId.length > 255) {
    throw new TypeError(`${owner}: userId must be a non-empty string of at most 255 characters`);
  }
}
