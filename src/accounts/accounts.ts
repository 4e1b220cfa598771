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
 * - a password change that ends every other session and remember-me series (SEC-10, SEC-33).
 * Expected outcomes are discriminated results; store failures throw coded errors (a 503).
 *
 * This class is the front: each operation lives in the file of its concept (registration.ts,
 * authentication.ts and attempts.ts, owner-password.ts), on the core that options.ts builds.
 *
 * @module accounts/accounts
 */
import type { RequestAuth } from '../request-auth.ts';
import type { UserRecord, UserStore } from '../user-store.ts';
import { authenticate } from './authentication.ts';
import { createAccountsCore, writeUser, type AccountsCore, type AccountsOptions } from './options.ts';
import { changePassword, confirmPassword } from './owner-password.ts';
import { importUser, register } from './registration.ts';
import type { AccountEvents, AuthenticateResult, ChangePasswordResult, ConfirmPasswordResult, ImportUserResult, RegisterResult } from './results.ts';

/** The accounts of an app. Make one with {@link createAccounts}. */
export class Accounts {
  readonly #core: AccountsCore;

  constructor(options: AccountsOptions) {
    this.#core = createAccountsCore(options);
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
   * `registrationThrottle`, the IP's registrations are counted first (SEC-53).
   */
  register(input: { email?: unknown; name?: unknown; password?: unknown; username?: unknown; ip?: string | null }): Promise<RegisterResult> {
    return register(this.#core, input);
  }

  /**
   * Checks a login (email or username) and password. Exactly one password verification per
   * attempt whatever the outcome (SEC-14); throttled before verifying (SEC-12, SEC-51), under one
   * counter per account whichever identifier was typed (finding 7); a valid `device` token (the
   * `device` of an earlier success, SEC-52) exempts from the per-account delay and lock. A stored
   * hash of older parameters or another scheme is replaced by argon2id (SEC-03).
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
   * operator's `unlock` does, and what a password reset will do. Resolves false without a throttle.
   */
  async unlockAccount(userId: string): Promise<boolean> {
    if (typeof userId !== 'string' || userId === '') throw new TypeError('unlockAccount: userId must be a non-empty string');
    if (this.#core.throttle === null) return false;
    await this.#core.throttle.recordSuccess({ account: `id:${userId}` });
    return true;
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
 * });
 * const result = await accounts.authenticate({ login: form.login, password: form.password, ip: auth.clientIp });
 * ```
 */
export function createAccounts(options: AccountsOptions): Accounts {
  return new Accounts(options);
}
