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
   * `reason` is for logs only: the client sees the same answer for all but `unverified`, which
   * follows a right password (SEC-13, SEC-62). `login` is the
   * canonical identifier, or for a `malformed` attempt what was sent if it was a string (null
   * otherwise): log only a keyed hash of it, it may be a password typed in the wrong field
   * (SEC-69). `userId` is the account's, when one has that identifier. `failures` are the
   * throttle's counts after this failure (SEC-56: see {@link FailureCounts}); null when the
   * attempt was malformed (never counted) or there is no throttle.
   */
  loginFailed: {
    readonly login: string | null;
    readonly ip: string | null;
    readonly reason: 'unknown' | 'password' | 'inactive' | 'malformed' | 'unverified';
    readonly userId: string | null;
    readonly failures: FailureCounts | null;
  };
  throttled: { readonly login: string; readonly ip: string | null; readonly scope: 'account' | 'ip' | 'locked'; readonly retryAfter: number };
  passwordChanged: { readonly user: UserRecord };
  passwordRehashed: { readonly user: UserRecord };
  /** A rehash could not be written; the login went on (SEC-03). */
  rehashFailed: { readonly user: UserRecord; readonly error: unknown };
  /**
   * A mail, or the work before it (a token, a lookup), failed in the background: the answer did
   * not change (SEC-16). `to` is a keyed hash of the address, never the address (SEC-69), under a
   * key of this process: it tells failures to one address apart, nothing more.
   */
  mailFailed: { readonly to: string; readonly subject: string; readonly error: unknown };
  /** A password was set with a reset link (SEC-60, SEC-68); every session of the user was ended. */
  passwordReset: { readonly user: UserRecord; readonly ip: string | null };
  /** An address was proven with a verification link (SEC-61). */
  emailVerified: { readonly user: UserRecord };
  /** An email change was confirmed from the new address (SEC-63); `previousEmail` got a notice. */
  emailChanged: { readonly user: UserRecord; readonly previousEmail: string | null };
  /**
   * A TOTP authenticator was confirmed, with a new set of recovery codes (SEC-77, SEC-81), or the app
   * told of a new passkey (`notifySecondFactor`); the owner got a notice. No secret, no code.
   */
  secondFactorAdded: { readonly userId: string; readonly method: SecondFactorMethod };
  /** The TOTP authenticator and its recovery codes were deleted, or the app told of a removed passkey (SEC-84); the owner got a notice. */
  secondFactorRemoved: { readonly userId: string; readonly method: SecondFactorMethod };
  /** A second-step code was refused (SEC-79, SEC-68); `failures` as in `loginFailed`. Never the code. */
  secondFactorFailed: { readonly userId: string; readonly ip: string | null; readonly failures: FailureCounts | null };
  /** A recovery code was used up (SEC-81); `remaining` unused codes are left; the owner got a notice (SEC-71). */
  recoveryCodeUsed: { readonly userId: string; readonly ip: string | null; readonly remaining: number };
}

/** A second factor: a TOTP authenticator app (with its recovery codes) or a passkey. */
export type SecondFactorMethod = 'totp' | 'passkey';

/** Field errors, keyed by the form field they belong to. */
export type FieldErrors = Readonly<Record<string, string>>;

/** Too many attempts: answer 429 with `Retry-After: retryAfter`, whichever limit it was (SEC-17). */
export type Throttled = { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number };

export type RegisterResult =
  | { readonly ok: true; readonly user: UserRecord }
  /**
   * With `emailVerification: 'required'`, for a new and for a taken address alike (SEC-15): no
   * account to log in; the mailbox's owner finishes by the link (or is told someone tried).
   */
  | { readonly ok: true; readonly pending: true }
  | { readonly ok: false; readonly reason: 'invalid'; readonly errors: FieldErrors }
  /** The canonical email or username belongs to another account already; `field` says which. */
  | { readonly ok: false; readonly reason: 'exists'; readonly field: 'email' | 'username' }
  /** Too many registrations from this IP (`registrationThrottle`, SEC-53): answer 429 with `Retry-After`. */
  | Throttled;

/** What {@link Accounts.importUser} answers: as registration, never throttled nor pending. */
export type ImportUserResult = Exclude<RegisterResult, { reason: 'throttled' } | { pending: true }>;

export type AuthenticateResult =
  /**
   * `device`: a new trusted-device token (SEC-52), to keep in a long-lived HttpOnly cookie and pass
   * back as `device` at the next login; null without a throttle.
   */
  | { readonly ok: true; readonly user: UserRecord; readonly device: string | null }
  /** Unknown login, wrong password or inactive account: indistinguishable on purpose (SEC-13). */
  | { readonly ok: false; readonly reason: 'invalid' }
  /** With `emailVerification: 'required'`: the password was right, the address is not verified yet (SEC-62). */
  | { readonly ok: false; readonly reason: 'unverified' }
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

/** A link that is malformed, unknown, used, expired, or bound to an address the account no longer has. */
export type InvalidToken = { readonly ok: false; readonly reason: 'invalid-token' };

export type ResetPasswordResult =
  | { readonly ok: true; readonly user: UserRecord }
  | InvalidToken
  /** The new password fails the policy (`errors.password`); the link stays usable. */
  | { readonly ok: false; readonly reason: 'invalid'; readonly errors: FieldErrors };

export type SendEmailVerificationResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'verified' | 'no-email' }
  | Throttled;

export type VerifyEmailResult = { readonly ok: true; readonly user: UserRecord } | InvalidToken;

export type RequestEmailChangeResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'invalid'; readonly errors: FieldErrors }
  | Throttled;

export type ConfirmEmailChangeResult =
  | { readonly ok: true; readonly user: UserRecord }
  | InvalidToken
  /** The new address was registered by another account meanwhile (the unique index decided, SEC-63). */
  | { readonly ok: false; readonly reason: 'taken' };

export type BeginTotpSetupResult =
  /** Show `secret` (grouped for typing) and `uri` (as a QR code) once, never log them (SEC-77). */
  | { readonly ok: true; readonly secret: string; readonly uri: string }
  /** The account has a confirmed authenticator: disable it first (SEC-84: with a fresh login). */
  | { readonly ok: false; readonly reason: 'enabled' };

export type ConfirmTotpSetupResult =
  /** Show the 10 recovery codes once (SEC-81): only their hashes are stored. */
  | { readonly ok: true; readonly recoveryCodes: string[] }
  /** A wrong or replayed code, or no setup under way: nothing was enabled (SEC-77). */
  | { readonly ok: false; readonly reason: 'invalid' };

export type VerifySecondFactorResult =
  | { readonly ok: true; readonly method: 'otp' | 'recovery' }
  /** A wrong, replayed (SEC-78) or used (SEC-81) code, or none the account could have. */
  | { readonly ok: false; readonly reason: 'invalid' }
  | Throttled;
