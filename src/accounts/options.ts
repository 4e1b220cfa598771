/**
 * What {@link createAccounts} takes, checked once into the core that every account operation
 * shares: the user and factor stores behind their deadline guards, the throttles, the hasher and the
 * policy, the events, the user cache, and the queues of password attempts.
 *
 * @module accounts/options
 */
import { requireDuration } from '../duration.ts';
import { Emitter } from '../lib/emitter.ts';
import { dropAround, ExpiringCache, resolveCacheOptions, type CacheOptions } from '../lib/expiring-cache.ts';
import { CREDENTIAL_STORE_METHODS, isCredentialStore, type CredentialStore } from '../credential-store.ts';
import { FACTOR_STORE_METHODS, isFactorStore, type FactorStore } from '../factor-store.ts';
import { guardCalls } from '../lib/guarded-store.ts';
import { TOKEN_STORE_METHODS } from '../token-store.ts';
import type { LoginThrottle } from '../login-throttle.ts';
import { PasswordHasher } from '../passwords/hasher.ts';
import { USER_STORE_METHODS, type UserRecord, type UserStore } from '../user-store.ts';
import { createPasswordPolicy, type PasswordPolicy } from './policy.ts';
import { resolveMailOptions, type MailCore, type MailOptions } from './recovery-options.ts';
import type { AccountEvents } from './results.ts';

/** Options of {@link createAccounts}; the mail path's (reset, verification, email change, notices) are {@link MailOptions}. */
export interface AccountsOptions extends MailOptions {
  users: UserStore;
  /**
   * The login throttle (`createLoginThrottle`), or `false` to run without one: only when
   * something in front (a proxy, a WAF) throttles logins per account and per IP (SEC-51, SEC-53).
   */
  throttle: LoginThrottle | false;
  /**
   * Limits registrations per IP before any hashing (SEC-53, SEC-12): a throttle of its own scope,
   * e.g. `createLoginThrottle({ store, secret, scope: 'register', ip: { maxFailures: 20, window: '1h' } })`,
   * whose `countRequest` counts every registration. @default none
   */
  registrationThrottle?: LoginThrottle;
  /**
   * Ends every session and remember-me series of this user, resolving to the number of sessions
   * ended: what a password change without `auth` and a deactivation call (SEC-32, SEC-33). With a
   * login manager: `async (userId) => (await manager.revokeUserSessions(userId)).sessions`.
   * A callback rather than the manager, so that the accounts can be built before the manager whose
   * `loadUser` they serve. @default none (sessions are left to the app)
   */
  revokeSessions?: (userId: string) => Promise<number>;
  /** @default new PasswordHasher() (argon2id m=19456 KiB, t=2, p=1) */
  hasher?: PasswordHasher;
  /** @default createPasswordPolicy({ appName }) (15 code points minimum) */
  policy?: PasswordPolicy;
  /** Refused as part of passwords (SEC-08); names the app in mails (required with `mail`). */
  appName?: string;
  /**
   * Reuse what `loadUser` read for up to `ttl` (≤ 5 s, R-07) in this process, saving a
   * user-store read per request; the session is still read on every request. Changes made through
   * these accounts take effect here at once. A change made elsewhere (another instance, SQL) shows
   * up to `ttl` late, which is harmless for access because every change that must end access
   * (password change, deactivation) also ends the user's sessions, and password checks always read
   * the store. @default null (every call reads the store)
   */
  userCache?: CacheOptions;
  /**
   * Where second factors live (TOTP and recovery codes, SEC-77…SEC-81), behind the same deadline
   * as `users`. @default `users`, when it implements FactorStore (SqliteUserStore, PostgresUserStore)
   */
  factors?: FactorStore;
  /**
   * Where passkeys live, read to tell whether an account has two-factor login (a passkey is one,
   * SEC-80), behind the same deadline. The ceremonies are `latchkey/passkeys`'s.
   * @default `users`, when it implements CredentialStore (SqliteUserStore, PostgresUserStore)
   */
  credentials?: CredentialStore;
  /** The clock of the user cache and of TOTP codes, ms since the epoch. @default Date.now */
  now?: () => number;
  /**
   * A user-store call that takes longer fails with `ERR_LATCHKEY_STORE_TIMEOUT` (a 503), as the
   * manager's and the throttle's store calls do: a database that accepts connections and never
   * answers must not hang logins, nor every request through `loadUser`. @default '2s'
   */
  storeTimeout?: string | number;
  /**
   * `register` refuses an account without an email address. Without it, a username alone makes an
   * account, one that no mail (so no reset by mail) can reach. `importUser` always takes accounts
   * with only a username, as Flask apps have them. @default false
   */
  requireEmail?: boolean;
}

/** The checked options and the state that the account operations share. */
export interface AccountsCore extends MailCore {
  /** The app's store behind the deadline guard: every call answers within `storeTimeout` or is a coded 503. */
  readonly users: UserStore;
  /** The factor store behind the same deadline, or null: the second-factor methods then throw `TypeError`. */
  readonly factors: FactorStore | null;
  /** The credential store behind the same deadline, or null: then no account has a passkey. */
  readonly credentials: CredentialStore | null;
  readonly now: () => number;
  readonly throttle: LoginThrottle | null;
  readonly registrationThrottle: LoginThrottle | null;
  readonly revokeSessions: ((userId: string) => Promise<number>) | null;
  readonly hasher: PasswordHasher;
  readonly policy: PasswordPolicy;
  readonly requireEmail: boolean;
  readonly events: Emitter<AccountEvents>;
  readonly userCache: ExpiringCache<UserRecord | null> | null;
  /** The queue of each throttle key with password attempts in flight in this process (attempts.ts). */
  readonly queues: Map<string, { tail: Promise<void>; length: number }>;
}

/** Checks the options (misuse throws `TypeError`) and builds the core, frozen. */
export function createAccountsCore(options: AccountsOptions): AccountsCore {
  if (!options || typeof options !== 'object') throw new TypeError('createAccounts needs options');
  if (!options.users || typeof options.users.getUserByLogin !== 'function') throw new TypeError('users must be a UserStore');
  if (options.throttle === undefined || options.throttle === null) {
    throw new TypeError('throttle is required: pass createLoginThrottle(…), or false when something in front throttles logins');
  }
  if (options.throttle !== false && typeof options.throttle.reserve !== 'function') throw new TypeError('throttle must be a LoginThrottle');
  const registration = options.registrationThrottle;
  if (registration !== undefined && typeof registration?.countRequest !== 'function') throw new TypeError('registrationThrottle must be a LoginThrottle');
  if ('manager' in options) {
    // Ignoring it would leave sessions alive after a password change or a deactivation (SEC-33).
    throw new TypeError('createAccounts: manager is replaced by revokeSessions: async (userId) => (await manager.revokeUserSessions(userId)).sessions');
  }
  if (options.revokeSessions !== undefined && typeof options.revokeSessions !== 'function') throw new TypeError('revokeSessions must be a function');
  if (options.requireEmail !== undefined && typeof options.requireEmail !== 'boolean') throw new TypeError('requireEmail must be a boolean');
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function');
  if (options.factors !== undefined && !isFactorStore(options.factors)) throw new TypeError('factors must be a FactorStore');
  const factors = options.factors ?? (isFactorStore(options.users) ? options.users : null);
  if (options.credentials !== undefined && !isCredentialStore(options.credentials)) throw new TypeError('credentials must be a CredentialStore');
  const credentials = options.credentials ?? (isCredentialStore(options.users) ? options.users : null);
  const cache = resolveCacheOptions('userCache', options.userCache);
  const timeout = requireDuration('storeTimeout', options.storeTimeout ?? '2s', 1);
  const mail = resolveMailOptions(options);
  return Object.freeze({
    ...mail,
    // The links' tokens behind the same deadline as the users (R-03): a hung store is a 503, never a hung reset.
    tokens: mail.tokens === null ? null : guardCalls(mail.tokens, TOKEN_STORE_METHODS, timeout, 'accounts: tokens'),
    users: guardCalls(options.users, USER_STORE_METHODS, timeout, 'accounts: users'),
    factors: factors === null ? null : guardCalls(factors, FACTOR_STORE_METHODS, timeout, 'accounts: factors'),
    credentials: credentials === null ? null : guardCalls(credentials, CREDENTIAL_STORE_METHODS, timeout, 'accounts: credentials'),
    now: options.now ?? Date.now,
    throttle: options.throttle === false ? null : options.throttle,
    registrationThrottle: registration ?? null,
    revokeSessions: options.revokeSessions ?? null,
    hasher: options.hasher ?? new PasswordHasher(),
    policy: options.policy ?? createPasswordPolicy({ appName: options.appName }),
    requireEmail: options.requireEmail === true,
    events: new Emitter<AccountEvents>(),
    userCache: cache === null ? null : new ExpiringCache<UserRecord | null>(cache.ttl, cache.maxEntries, options.now ?? Date.now),
    queues: new Map(),
  });
}

/** Runs a write to one account, dropping its cached copy before and after it ({@link dropAround}). */
export function writeUser<T>(core: AccountsCore, userId: string, write: () => Promise<T>): Promise<T> {
  const cache = core.userCache;
  return cache === null ? write() : dropAround(() => cache.drop(userId), write);
}
