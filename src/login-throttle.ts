/**
 * The login throttle's contract: what an attempt is, what the throttle answers, and the
 * {@link LoginThrottle} interface that the accounts call and `createLoginThrottle` (throttle.ts)
 * implements (SEC-17, SEC-51…SEC-53, SEC-56). `reason` in every answer is for logs and
 * events only: the client gets the same 429 whatever it is (SEC-17).
 *
 * @module login-throttle
 */

/**
 * One login attempt: the account key (one per account whatever identifier was typed, and the
 * canonical identifier for one that matches no account, SEC-17), the client IP if known, and the
 * trusted-device token the browser presented, if any.
 */
export interface ThrottleAttempt {
  readonly account: string;
  /** From the trusted-proxy configuration only (SEC-53); null when unknown, which skips the per-IP limit. */
  readonly ip: string | null;
  /** The token a successful login returned (`succeed()`), as the browser sent it back; anything invalid counts as none. */
  readonly device?: string | null;
}

/** `reason` is for logs and metrics; the client gets the same 429 whatever it is (SEC-17). */
export type ThrottleVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryAfter: number; readonly reason: 'account' | 'ip' | 'locked' };

/**
 * Counts after a failure, for SEC-56 events: `accountFailures === freeFailures` is
 * `authn_login_fail_max`, `=== hardLimit` is `authn_login_lock`, `ipFailures === maxFailures` is
 * `excess_rate_limit_exceeded`.
 */
export interface FailureCounts {
  /** null when the failure counted against a trusted-device token instead (SEC-52). */
  readonly accountFailures: number | null;
  readonly ipFailures: number | null;
  /** The token's failures when the attempt was trusted, else null. */
  readonly deviceFailures: number | null;
}

/** What {@link LoginThrottle.reserve} answers: a refusal, or an attempt to settle exactly once. */
export type ThrottleReservation =
  | Extract<ThrottleVerdict, { ok: false }>
  | {
      readonly ok: true;
      /** A valid trusted-device token for this account exempted the attempt from the per-account delay and lock (SEC-52). */
      readonly trusted: boolean;
      /** The password was wrong: counts the failure against the account (or the token, when trusted); the IP's was counted by `reserve`. */
      fail(): Promise<FailureCounts>;
      /** The password was right: clears the account's failures, gives the IP its attempt back, and returns a new trusted-device token. */
      succeed(): Promise<{ readonly device: string }>;
    };

export interface LoginThrottle {
  /**
   * Before verifying a password: whether this attempt may go ahead and, if so, the attempt counted
   * against its IP in one atomic step, so that no burst overshoots the cap (finding 4). Settle it
   * with exactly one of `fail()` or `succeed()`; an attempt never settled stays counted against
   * the IP, as a failure.
   */
  reserve(attempt: ThrottleAttempt): Promise<ThrottleReservation>;
  /** Counts one request from `ip` against the cap of a request-limited scope (registrations, SEC-53), refusing past it. */
  countRequest(attempt: { readonly ip: string | null }): Promise<ThrottleVerdict>;
  /** Whether this attempt may go ahead; if not, how many seconds (≥ 1) to wait. Only reads. */
  check(attempt: ThrottleAttempt): Promise<ThrottleVerdict>;
  /** Counts a failed attempt that was not reserved against the account (or device) and the IP, atomically in the store. */
  recordFailure(attempt: ThrottleAttempt): Promise<FailureCounts>;
  /** Clears the account's failures (a password reset, an operator's `unlock`); the IP's stay. */
  recordSuccess(attempt: { readonly account: string }): Promise<void>;
}
