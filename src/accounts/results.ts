/**
 * What the accounts answer and what they announce: the discriminated result of each operation
 * (expected outcomes are values, never errors) and the events that security logging subscribes
 * to (SEC-56, SEC-68). Payloads never hold a password or a hash.
 *
 * @module accounts/results
 */
import type { FailureCounts } from '../login-throttle.ts';
import type { UserRecord } from '../user-store.ts';

/** Events of the accounts module (SEC-56, SEC-68). Payloads never hold a password or a hash. */
export interface AccountEvents {
  registered: { readonly user: UserRecord };
  /**
   * `reason` is for logs only: the client always sees the same answer (SEC-13). `login` is the
   * canonical identifier, or for a `malformed` attempt what was sent if it was a string (null
   * otherwise): log only a keyed hash of it, it may be a password typed in the wrong field
   * (SEC-69). `userId` is the account's, when one has that identifier. `failures` are the
   * throttle's counts after this failure (SEC-56: see {@link FailureCounts}); null when the
   * attempt was malformed (never counted) or there is no throttle.
   */
  loginFailed: {
    readonly login: string | null;
    readonly ip: string | null;
    readonly reason: 'unknown' | 'password' | 'inactive' | 'malformed';
    readonly userId: string | null;
    readonly failures: FailureCounts | null;
  };
  throttled: { readonly login: string; readonly ip: string | null; readonly scope: 'account' | 'ip' | 'locked'; readonly retryAfter: number };
  passwordChanged: { readonly user: UserRecord };
  passwordRehashed: { readonly user: UserRecord };
  /** A rehash could not be written; the login went on (SEC-03). */
  rehashFailed: { readonly user: UserRecord; readonly error: unknown };
}

/** Field errors, keyed by the form field they belong to. */
export type FieldErrors = Readonly<Record<string, string>>;

/** Too many attempts: answer 429 with `Retry-After: retryAfter`, whichever limit it was (SEC-17). */
export type Throttled = { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number };

export type RegisterResult =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: 'invalid'; readonly errors: FieldErrors }
  /** The canonical email or username belongs to another account already; `field` says which. */
  | { readonly ok: false; readonly reason: 'exists'; readonly field: 'email' | 'username' }
  /** Too many registrations from this IP (`registrationThrottle`, SEC-53): answer 429 with `Retry-After`. */
  | Throttled;

/** What {@link Accounts.importUser} answers: as registration, never throttled. */
export type ImportUserResult = Exclude<RegisterResult, { reason: 'throttled' }>;

export type AuthenticateResult =
  /**
   * `device`: a new trusted-device token (SEC-52), to keep in a long-lived HttpOnly cookie and pass
   * back as `device` at the next login; null without a throttle.
   */
  | { readonly ok: true; readonly user: UserRecord; readonly device: string | null }
  /** Unknown login, wrong password or inactive account: indistinguishable on purpose (SEC-13). */
  | { readonly ok: false; readonly reason: 'invalid' }
  | Throttled
  /** Input that could never be a login (not a string, oversized): refused before any hashing. */
  | { readonly ok: false; readonly reason: 'malformed'; readonly errors: FieldErrors };

export type ConfirmPasswordResult =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: 'invalid' }
  | Throttled
  | { readonly ok: false; readonly reason: 'malformed'; readonly errors: FieldErrors };

export type ChangePasswordResult =
  | { readonly ok: true; readonly user: UserRecord; readonly sessionsEnded: number }
  | { readonly ok: false; readonly reason: 'invalid'; readonly errors: FieldErrors }
  | Throttled;
