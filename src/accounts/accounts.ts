/**
 * Accounts: registration, password login, password change, deactivation and the import of
 * accounts hashed elsewhere, on a replaceable {@link UserStore}. What Flask-Login leaves to each
 * app (docs: "does not handle registration"), done to NIST SP 800-63B-4 and OWASP:
 * - one canonical form of identifiers for uniqueness, login and lookup (SEC-18);
 * - the password policy checked before any hashing, argon2id with rehash on login (SEC-01…SEC-09);
 * - the same answer and the same cost (one verification) for an unknown user, a wrong password
 *   and an inactive account (SEC-13, SEC-14);
 * - per-account and per-IP throttling before verification, failing closed (SEC-51…SEC-56): one
 *   counter per account whichever identifier is typed, a trusted-device token for the owner's
 *   browser (SEC-52), and an owner already logged in throttled by their session, never locked out
 *   of re-authentication by strangers' failures; registrations limited per IP (SEC-53);
 * - a password change that ends every other session and remember-me series (SEC-10, SEC-33);
 * - with `tokens` and `mail`: password reset, email verification and email change by mailed
 *   links (SEC-57…SEC-63), answers that do not say whether an address is registered (SEC-15,
 *   SEC-16), and the notices of SEC-71;
 * - with a `FactorStore`: a TOTP authenticator and recovery codes as a second factor, and
 *   the throttled check of the second step (SEC-77…SEC-81, SEC-84).
 * Expected outcomes are discriminated results; store failures throw coded errors (a 503).
 *
 * This class is the front: each operation lives in the file of its concept (registration.ts,
 * authentication.ts and attempts.ts, owner-password.ts, password-reset.ts, email-verification.ts,
 * email-change.ts, notices.ts, second-factors.ts, second-step.ts), on the core that options.ts and recovery-options.ts build;
 * the second-factor methods are inherited from second-factor-methods.ts.
 *
 * @module accounts/accounts
 */
import type { RequestAuth } from '../request-auth.ts';
import type { UserRecord, UserStore } from '../user-store.ts';
import { clearAccountFailures } from './attempts.ts';
import { authenticate } from './authentication.ts';
import { createAccountsCore, writeUser, type AccountsCore, type AccountsOptions } from './options.ts';
import { confirmEmailChange, requestEmailChange } from './email-change.ts';
import { sendEmailVerification, verifyEmail } from './email-verification.ts';
import { backgroundIdle } from './mailer.ts';
import { notifyRememberTheft } from './notices.ts';
import { changePassword, confirmPassword } from './owner-password.ts';
import { checkResetToken, requestPasswordReset, resetPassword } from './password-reset.ts';
import { importUser, register } from './registration.ts';
import { SecondFactorMethods } from './second-factor-methods.ts';
import type {
  AccountEvents,
  AuthenticateResult,
  ChangePasswordResult,
  ConfirmEmailChangeResult,
  ConfirmPasswordResult,
  ImportUserResult,
  RegisterResult,
  RequestEmailChangeResult,
  ResetPasswordResult,
  SendEmailVerificationResult,
  VerifyEmailResult,
} from './results.ts';

/** The accounts of an app. Make one with {@link createAccounts}. */
export class Accounts extends SecondFactorMethods {
  readonly #core: AccountsCore;

  constructor(options: AccountsOptions) {
    const core = createAccountsCore(options);
    super(core);
    this.#core = core;
    Object.freeze(this);
  }

  /** Subscribes to an account event; returns the unsubscribe function. */
  on<E extends keyof AccountEvents>(event: E, listener: (payload: AccountEvents[E]) => void): () => void {
    return this.#core.events.on(event, listener);
  }

  /** The account with this id (for the login manager's `loadUser`), from the user cache if set. */
  async loadUser(id: string): Promise<UserRecord | null> {
    const { userCache: cache, users } = this.#core;
    if (cache === null) return users.getUserById(id);
    const hit = cache.get(id);
    if (hit !== undefined) return hit;
    const ticket = cache.begin();
    const user = await users.getUserById(id);
    cache.put(id, user, ticket);
    return user;
  }

  /**
   * Registers an account with an email address, a username or both (only an email address with
   * `requireEmail`). Field errors come back together, each with its reason; an address or
   * username already taken gives `exists` without any hashing (SEC-12: the hasher is no open door),
   * and a race between two registrations is decided by the store's unique index. With a
   * `registrationThrottle`, the IP's registrations are counted first (SEC-53). With
   * `emailVerification` 'optional' (the default, given `tokens`), a verification link is mailed in
   * the background; with 'required', a new and a taken address both answer `{ ok: true, pending:
   * true }` (no account to log in), and the owner of a taken one is told (SEC-15).
   */
  register(input: { email?: unknown; name?: unknown; password?: unknown; username?: unknown; ip?: string | null }): Promise<RegisterResult> {
    return register(this.#core, input);
  }

  /**
   * Checks a login (email or username) and password. Exactly one password verification per
   * attempt whatever the outcome (SEC-14); throttled before verifying (SEC-12, SEC-51), under one
   * counter per account whichever identifier was typed (finding 7); a valid `device` token (the
   * `device` of an earlier success, SEC-52) exempts from the per-account delay and lock. A stored
   * hash of older parameters or another scheme is replaced by argon2id (SEC-03). With
   * `emailVerification: 'required'`, the right password of an unverified account answers
   * `unverified` (SEC-62).
   */
  authenticate(input: { login?: unknown; password?: unknown; ip?: string | null; device?: string | null }): Promise<AuthenticateResult> {
    return authenticate(this.#core, input);
  }

  /**
   * Re-authentication of a logged-in user (SEC-35, "sudo mode"): checks the user's password,
   * throttled by `auth`'s session rather than the account (see changePassword). On success, make
   * the login fresh (`auth.confirmLogin()`).
   */
  confirmPassword(input: { userId: string; password?: unknown; auth?: RequestAuth<any, any>; ip?: string | null }): Promise<ConfirmPasswordResult> {
    return confirmPassword(this.#core, input);
  }

  /**
   * Changes a password: the current one is required (SEC-10), checked as by
   * {@link confirmPassword}, so throttled by `auth`'s session, not by the account its owner may be
   * locked out of by strangers (finding 8); the new one meets the policy, and every other session
   * and remember-me series of the user ends (SEC-33). With `auth`, this browser stays logged in
   * under a new token; without, every session of the user ends (`revokeSessions`).
   */
  changePassword(input: {
    userId: string;
    currentPassword?: unknown;
    newPassword?: unknown;
    auth?: RequestAuth<any, any>;
    ip?: string | null;
  }): Promise<ChangePasswordResult> {
    return changePassword(this.#core, input);
  }

  /**
   * Clears the failed-login counter of an account, lifting its delay or lock (SEC-51): what an
   * operator's `unlock` does, and what a password reset does. Resolves false without a throttle.
   */
  async unlockAccount(userId: string): Promise<boolean> {
    if (typeof userId !== 'string' || userId === '') throw new TypeError('unlockAccount: userId must be a non-empty string');
    return clearAccountFailures(this.#core, userId);
  }

  /**
   * Mails a password-reset link (60 minutes) to the account with this address, if there is one.
   * Always `{ ok: true }`, at once: the same answer in the same time for a known, an unknown and a
   * throttled address (SEC-16); the lookup, the token and the mail happen in the background, and
   * past `recoveryThrottle`'s limits per address or per IP nothing is sent (SEC-54). A new request
   * voids the earlier links (SEC-57). The mail goes to the address as stored (SEC-18).
   */
  requestPasswordReset(input: { email: unknown; ip?: string | null }): Promise<{ ok: true }> {
    return requestPasswordReset(this.#core, input);
  }

  /** Whether a reset link is live (to show the form), without using it up (SEC-42). */
  checkResetToken(token: unknown): Promise<boolean> {
    return checkResetToken(this.#core, token);
  }

  /**
   * Sets a new password with a reset link. The policy is checked first (a refusal keeps the link);
   * then the link is used up (once, SEC-57), every session and remember-me series of the user ends,
   * with their other links, the account's failed-login lock is lifted (SEC-52), the address is
   * marked verified and the owner is told (SEC-60, SEC-71). Nobody is logged in: send the user to
   * the login form.
   */
  resetPassword(input: { token: unknown; password: unknown; ip?: string | null }): Promise<ResetPasswordResult> {
    return resetPassword(this.#core, input);
  }

  /** Mails the user a new verification link (24 hours), within the address's limit (SEC-61). */
  sendEmailVerification(userId: string): Promise<SendEmailVerificationResult> {
    return sendEmailVerification(this.#core, userId);
  }

  /** Uses up a verification link and marks the address verified, if it is still the account's (SEC-61). Call it on POST only (SEC-42). */
  verifyEmail(input: { token: unknown }): Promise<VerifyEmailResult> {
    return verifyEmail(this.#core, input);
  }

  /**
   * Starts an email change: a confirmation link (24 hours) to the new address, a notice to the old
   * one; the account keeps its address until the link is confirmed (SEC-63). The same answer
   * whether the new address is taken. Ask for a fresh login first (SEC-35).
   */
  requestEmailChange(input: { userId: string; email: unknown; ip?: string | null }): Promise<RequestEmailChangeResult> {
    return requestEmailChange(this.#core, input);
  }

  /** Uses up an email-change link and changes the address (`taken` if another account has it now, SEC-63); the old address is told. */
  confirmEmailChange(input: { token: unknown }): Promise<ConfirmEmailChangeResult> {
    return confirmEmailChange(this.#core, input);
  }

  /**
   * Tells the user that a remember-me cookie of theirs was used twice (SEC-71). Never rejects for a
   * mail or store failure (emitted as `mailFailed`): `manager.on('rememberTheft', ({ userId }) =>
   * void accounts.notifyRememberTheft(userId))`.
   */
  notifyRememberTheft(userId: string): Promise<void> {
    return notifyRememberTheft(this.#core, userId);
  }

  /**
   * Resolves once the work these accounts run in the background (the lookup, token and mail of a
   * reset request; notices) has finished, failures included (they are `mailFailed` events): for a
   * graceful shutdown, before closing the stores and the mail transport, and for tests.
   */
  idle(): Promise<void> {
    return backgroundIdle(this.#core);
  }

  /** Deactivates an account and ends all its sessions and remember-me series (`revokeSessions`, SEC-32). */
  async deactivate(userId: string): Promise<boolean> {
    const core = this.#core;
    const changed = await writeUser(core, userId, () => core.users.setUserActive(userId, false));
    if (changed && core.revokeSessions) await core.revokeSessions(userId);
    return changed;
  }

  /**
   * Stores an account hashed elsewhere (werkzeug, Django, bcrypt, argon2) as is: its owner logs in
   * with the old password and the hash becomes argon2id at that login. Identifiers are checked and
   * canonicalised as at registration, an email address, a username or both; the password policy
   * cannot be checked (there is no password).
   */
  importUser(input: { email?: unknown; name?: unknown; username?: unknown; passwordHash: string; isActive?: boolean }): Promise<ImportUserResult> {
    return importUser(this.#core, input);
  }
}

/**
 * Makes the accounts module.
 *
 * @example
 * ```ts
 * const accounts = createAccounts({
 *   users: new SqliteUserStore({ path: './data/app.db' }),
 *   throttle: createLoginThrottle({ store, secret }),
 *   revokeSessions: async (userId) => (await manager.revokeUserSessions(userId)).sessions,
 *   appName: 'Acme',
 *   tokens: store, // one-time links, with mail:
 *   mail: (message) => transport.sendMail({ from: 'Acme <no-reply@acme.example>', ...message }),
 *   links: {
 *     resetPassword: (token) => `https://acme.example/reset-password/${token}`,
 *     verifyEmail: (token) => `https://acme.example/verify-email/${token}`,
 *     confirmEmail: (token) => `https://acme.example/confirm-email/${token}`,
 *   },
 *   recoveryThrottle: createLoginThrottle({ store, secret, scope: 'recovery', account: { freeFailures: 3, baseDelay: '1h', maxDelay: '1h', ttl: '1h' } }),
 * });
 * const result = await accounts.authenticate({ login: form.login, password: form.password, ip: auth.clientIp });
 * ```
 */
export function createAccounts(options: AccountsOptions): Accounts {
  return new Accounts(options);
}
