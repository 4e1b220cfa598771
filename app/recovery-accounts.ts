/**
 * The accounts as the app uses them for issue 13: the recovery methods and options of
 * RECOVERY_API.md §3, written out here because they land in src/accounts/ in parallel (helper R3).
 * The routes take {@link AppAccounts}; app.ts casts the accounts to it at one place.
 *
 * MERGE (issue 13): once `createAccounts` has these options and methods, and `UserRecord` has
 * `emailVerified`, delete this file: `AppAccounts` becomes `Accounts`, `RecoveryOptions` the
 * library's `AccountsOptions`, and `isEmailVerified(user)` becomes `user.emailVerified`.
 *
 * @module app/recovery-accounts
 */
import type { Accounts, AuthenticateResult, FieldErrors, LoginThrottle, RegisterResult, TokenStore, UserRecord } from 'latchkey';

/** The keys of the mail texts the accounts send, each overridable (`messages`). */
export type MailTextKey =
  | 'resetSubject'
  | 'resetText'
  | 'verifySubject'
  | 'verifyText'
  | 'emailChangeSubject'
  | 'emailChangeText'
  | 'emailChangeNoticeSubject'
  | 'emailChangeNoticeText'
  | 'passwordChangedSubject'
  | 'passwordChangedText'
  | 'signupAttemptSubject'
  | 'signupAttemptText'
  | 'rememberTheftSubject'
  | 'rememberTheftText';

/** The new `createAccounts` options (RECOVERY_API.md §3). */
export interface RecoveryOptions {
  tokens?: TokenStore;
  /** Sends one message; may be async; its failure never changes an answer. */
  mail?: (message: { to: string; subject: string; text: string; html?: string }) => void | Promise<void>;
  /** The links put in mails, built from PUBLIC_URL (SEC-58), never from a request. */
  links?: { resetPassword(token: string): string; verifyEmail(token: string): string; confirmEmail(token: string): string };
  emailVerification?: 'off' | 'optional' | 'required';
  messages?: Partial<Record<MailTextKey, string>>;
  localize?: (text: string) => string;
  /** Counts reset, verification and email-change requests per IP and per address (SEC-16, SEC-54). */
  recoveryThrottle?: LoginThrottle | false;
  appName?: string;
}

type InvalidToken = { ok: false; reason: 'invalid-token' };

/** The recovery methods (RECOVERY_API.md §3), and the two whose results issue 13 widens. */
export interface RecoveryAccounts {
  /** Always the same answer (SEC-16); the mail goes out in the background. */
  requestPasswordReset(input: { email: unknown; ip?: string | null }): Promise<{ ok: true }>;
  /** Whether a reset token is live; never consumes it (SEC-42). */
  checkResetToken(token: unknown): Promise<boolean>;
  resetPassword(input: { token: unknown; password: unknown; ip?: string | null }): Promise<
    { ok: true; user: UserRecord } | InvalidToken | { ok: false; reason: 'invalid'; errors: FieldErrors }
  >;
  sendEmailVerification(userId: string): Promise<{ ok: true } | { ok: false; reason: 'verified' | 'no-email' | 'throttled'; retryAfter?: number }>;
  verifyEmail(input: { token: unknown }): Promise<{ ok: true; user: UserRecord } | InvalidToken>;
  requestEmailChange(input: { userId: string; email: unknown; ip?: string | null }): Promise<
    { ok: true } | { ok: false; reason: 'invalid'; errors: FieldErrors } | { ok: false; reason: 'throttled'; retryAfter: number }
  >;
  confirmEmailChange(input: { token: unknown }): Promise<{ ok: true; user: UserRecord } | { ok: false; reason: 'invalid-token' | 'taken' }>;
  /** SEC-71: tells the user their remember-me login was stolen and every session ended. */
  notifyRememberTheft(userId: string): Promise<void>;
  /** With `emailVerification: 'required'`: `pending` for a new and a taken address alike (SEC-15). */
  register(input: Parameters<Accounts['register']>[0]): Promise<RegisterResult | { ok: true; pending: true }>;
  /** With `emailVerification: 'required'`: `unverified` after a correct password only (SEC-62). */
  authenticate(input: Parameters<Accounts['authenticate']>[0]): Promise<AuthenticateResult | { ok: false; reason: 'unverified' }>;
}

/** The accounts the app's routes take. */
export type AppAccounts = Omit<Accounts, 'register' | 'authenticate'> & RecoveryAccounts;

/** Whether the user's address is verified (`UserRecord.emailVerified`, RECOVERY_API.md §2). */
export function isEmailVerified(user: UserRecord): boolean {
  return (user as UserRecord & { emailVerified?: boolean }).emailVerified === true;
}
