/**
 * The one remember-me use decision (Jaspan's "improved persistent login", SEC-37,
 * SEC-38, SEC-39): what presenting a remember cookie's validator to a stored series means. Every
 * store makes it inside its own atomic step (a transaction, a row lock, a Lua script) and then does
 * what the answer says; this pure function is the decision, so the memory, SQLite and PostgreSQL
 * stores call it, and the Redis Lua script (redis/remember-scripts.ts) mirrors it line for line.
 * The store conformance suite drives every store through the same table of cases and checks each
 * answer against this function, so all four agree.
 *
 * @module remember-decision
 */
import { safeEqual } from './lib/encoding.ts';
import type { RememberUse } from './store.ts';

/** What a store holds of a remember-me series, as the decision reads it. */
export interface RememberSeriesState {
  /** SHA-256 (base64url) of the current validator. */
  readonly validatorHash: string;
  /** SHA-256 of the validator the last rotation replaced, or null before the first rotation. */
  readonly previousHash: string | null;
  /** When the last rotation happened (store clock, ms), or null before the first. */
  readonly rotatedAt: number | null;
  /** When the series ends (store clock, ms); rotation never moves it (SEC-36). */
  readonly expiresAt: number;
}

/**
 * - `unknown`: no such series; the store answers null.
 * - `expired`: the series ended (`now ≥ expiresAt`, SEC-29); the store deletes it and answers null.
 * - `rotate`: the validator is current (SEC-37); the store replaces it by the next one, keeps it as
 *   the previous one with `rotatedAt = now`, and answers `valid`.
 * - `grace`: the validator is the previous one and `now < rotatedAt + grace`: a parallel request of
 *   the same browser (SEC-39); the store changes nothing and answers `grace`.
 * - `theft`: the series exists but the validator is neither: a replayed or forged cookie (SEC-38);
 *   the store deletes the series and answers `stolen`.
 */
export type RememberDecision = 'unknown' | 'expired' | 'rotate' | 'grace' | 'theft';

/**
 * Decides a remember-me use. `state` is the series as stored (null when there is none),
 * `presentedHash` the SHA-256 of the presented validator, `now` the store's time, `grace` the window
 * in ms during which the previous validator still counts. Digests are compared in constant time
 * (SEC-04); the window is exclusive at its end, like every expiry (SEC-29).
 *
 * @example
 * ```ts
 * decideRememberUse({ validatorHash: h, previousHash: null, rotatedAt: null, expiresAt: t + 1 }, h, t, 30_000) // 'rotate'
 * ```
 */
export function decideRememberUse(state: RememberSeriesState | null, presentedHash: string, now: number, grace: number): RememberDecision {
  if (state === null) return 'unknown';
  if (now >= state.expiresAt) return 'expired';
  if (safeEqual(state.validatorHash, presentedHash)) return 'rotate';
  const inGrace = state.rotatedAt !== null && now < state.rotatedAt + grace;
  if (inGrace && state.previousHash !== null && safeEqual(state.previousHash, presentedHash)) return 'grace';
  return 'theft';
}

/** What a store answers for `decision` on a series of `userId` ending at `expiresAt`. */
export function rememberUseOf(decision: RememberDecision, userId: string, expiresAt: number): RememberUse | null {
  switch (decision) {
    case 'unknown':
    case 'expired':
      return null;
    case 'rotate':
      return Object.freeze({ status: 'valid', userId, expiresAt });
    case 'grace':
      return Object.freeze({ status: 'grace', userId, expiresAt });
    case 'theft':
      return Object.freeze({ status: 'stolen', userId });
  }
}
