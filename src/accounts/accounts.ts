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
 * Throttle keys: `id:<user id>` for an existing account, `login:<canonical identifier>` for one
 * that matches none (the same thresholds either way, SEC-17), `session:<user id>:<session id>` for
 * the password re-entry of a logged-in owner (re-authentication, password change).
 *
 * @module accounts/accounts
 */
import { Emitter } from '../lib/emitter.ts';
import { requireDuration } from '../duration.ts';
import { guardUserStore } from '../lib/guarded-store.ts';
import { dropAround, ExpiringCache, resolveCacheOptions, type CacheOptions } from '../lib/expiring-cache.ts';
import { PasswordHasher } from '../passwords/hasher.ts';
import type { RequestAuth } from '../request-auth.ts';
import type { FailureCounts, LoginThrottle, ThrottleReservation } from '../login-throttle.ts';
import { canonicalizeEmail, canonicalizeUsername } from './identifier.ts';
import { createPasswordPolicy, normalizePassword, type PasswordPolicy } from './policy.ts';
import { loginKey } from '../user-store.ts';
import type { UserRecord, UserStore } from '../user-store.ts';

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

export type RegisterResult =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: 'invalid'; readonly errors: FieldErrors }
  /** The canonical email or username belongs to another account already; `field` says which. */
  | { readonly ok: false; readonly reason: 'exists'; readonly field: 'email' | 'username' }
  /** Too many registrations from this IP (`registrationThrottle`, SEC-53): answer 429 with `Retry-After`. */
  | { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number };

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
  | { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number }
  /** Input that could never be a login (not a string, oversized): refused before any hashing. */
  | { readonly ok: false; readonly reason: 'malformed'; readonly errors: FieldErrors };

export type ConfirmPasswordResult =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number }
  | { readonly ok: false; readonly reason: 'malformed'; readonly errors: FieldErrors };

export type ChangePasswordResult =
  | { readonly ok: true; readonly user: UserRecord; readonly sessionsEnded: number }
  | { readonly ok: false; readonly reason: 'invalid'; readonly errors: FieldErrors }
  | { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number };

/** Options of {@link createAccounts}. */
export interface AccountsOptions {
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
  /** Refused as part of passwords (SEC-08). */
  appName?: string;
  /**
   * Reuse what `loadUser` read for up to `ttl` (≤ 5 s, security.md R-07) in this process, saving a
   * user-store read per request; the session is still read on every request. Changes made through
   * these accounts take effect here at once. A change made elsewhere (another instance, SQL) shows
   * up to `ttl` late, which is harmless for access because every change that must end access
   * (password change, deactivation) also ends the user's sessions, and password checks always read
   * the store. @default null (every call reads the store)
   */
  userCache?: CacheOptions;
  /** The user cache's clock, ms since the epoch. @default Date.now */
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

const NAME_MAX = 100;
/** Attempts on one account that may wait behind the one being verified. */
const MAX_QUEUED = 16;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A display name: NFKC, trimmed, 1…100 code points, no control characters. */
function checkName(input: unknown): { ok: true; value: string } | { ok: false; reason: string } {
  if (typeof input !== 'string') return { ok: false, reason: 'Name must be a string.' };
  if (input.length > 4 * NAME_MAX || !input.isWellFormed()) return { ok: false, reason: `Name must be at most ${NAME_MAX} characters.` };
  const value = input.normalize('NFKC').trim();
  if (value.length === 0) return { ok: false, reason: 'Name is required.' };
  if ([...value].length > NAME_MAX) return { ok: false, reason: `Name must be at most ${NAME_MAX} characters.` };
  if (CONTROL.test(value)) return { ok: false, reason: 'Name must not contain control characters.' };
  return { ok: true, value };
}

type Throttled = { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number };
type Reservation = Extract<ThrottleReservation, { ok: true }> | { readonly ok: true; fail(): Promise<FailureCounts | null>; succeed(): Promise<{ readonly device: string | null }> };

/** What an attempt settles with when there is no throttle (`throttle: false`). */
const UNTHROTTLED: Reservation = Object.freeze({ ok: true as const, fail: async () => null, succeed: async () => ({ device: null }) });

/** An identifier as the user typed it (after NFKC, trimmed: what is shown and mailed) and its canonical key. */
interface Identifier {
  readonly typed: string;
  readonly canonical: string;
}

/** Absent: undefined, null, or an empty form field. */
const given = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

/**
 * The identifiers of a new account, each given one checked and canonicalised (SEC-18), and at
 * least one of them, or the email when `requireEmail`; reasons go into `errors` by field.
 */
function checkIdentifiers(
  input: { email?: unknown; username?: unknown },
  requireEmail: boolean,
  errors: Record<string, string>,
): { email: Identifier | null; username: Identifier | null } {
  const typed = (value: unknown) => (value as string).normalize('NFKC').trim();
  let email: Identifier | null = null;
  let username: Identifier | null = null;
  if (given(input.email) || requireEmail || !given(input.username)) {
    const checked = canonicalizeEmail(input.email);
    if (checked.ok) email = { typed: typed(input.email), canonical: checked.value };
    else errors.email = given(input.email) || requireEmail ? checked.reason : 'Enter an email address or a username.';
  }
  if (given(input.username)) {
    const checked = canonicalizeUsername(input.username);
    if (checked.ok) username = { typed: typed(input.username), canonical: checked.value };
    else errors.username = checked.reason;
  }
  return { email, username };
}

/** Email or username, chosen by the presence of `@` (usernames cannot contain one). */
function canonicalLogin(input: unknown): { ok: true; value: string } | { ok: false; reason: string } {
  if (typeof input !== 'string') return { ok: false, reason: 'Login must be a string.' };
  return input.includes('@') ? canonicalizeEmail(input) : canonicalizeUsername(input);
}

/** The accounts of an app. Make one with {@link createAccounts}. */
export class Accounts {
  readonly #users: UserStore;
  readonly #throttle: LoginThrottle | null;
  readonly #registrationThrottle: LoginThrottle | null;
  readonly #revokeSessions: ((userId: string) => Promise<number>) | null;
  readonly #hasher: PasswordHasher;
  readonly #policy: PasswordPolicy;
  readonly #requireEmail: boolean;
  readonly #events = new Emitter<AccountEvents>();
  readonly #userCache: ExpiringCache<UserRecord | null> | null;
  /**
   * Attempts on one throttle key (see the module doc) run one after another in this process: the
   * throttle counts an account failure after its verification, so parallel attempts would all pass
   * its check first. Queued, each attempt sees the failures before it (SEC-51: a burst of 200 wrong
   * passwords reaches the hasher a handful of times, then the throttle answers), in the order
   * reserve → hash → settle. A queue longer than {@link MAX_QUEUED} is refused at once, so one
   * account cannot pile up work.
   */
  readonly #queues = new Map<string, { tail: Promise<void>; length: number }>();

  constructor(options: AccountsOptions) {
    if (!options || typeof options !== 'object') throw new TypeError('createAccounts needs options');
    if (!options.users || typeof options.users.getUserByLogin !== 'function') throw new TypeError('users must be a UserStore');
    if (options.throttle === undefined || options.throttle === null) {
      throw new TypeError('throttle is required: pass createLoginThrottle(…), or false when something in front throttles logins');
    }
    if (options.throttle !== false && typeof options.throttle.reserve !== 'function') throw new TypeError('throttle must be a LoginThrottle');
    const registration = options.registrationThrottle;
    if (registration !== undefined && typeof registration?.countRequest !== 'function') throw new TypeError('registrationThrottle must be a LoginThrottle');
    this.#users = guardUserStore(options.users, requireDuration('storeTimeout', options.storeTimeout ?? '2s', 1));
    this.#throttle = options.throttle === false ? null : options.throttle;
    this.#registrationThrottle = registration ?? null;
    if ('manager' in options) {
      // Ignoring it would leave sessions alive after a password change or a deactivation (SEC-33).
      throw new TypeError('createAccounts: manager is replaced by revokeSessions: async (userId) => (await manager.revokeUserSessions(userId)).sessions');
    }
    if (options.revokeSessions !== undefined && typeof options.revokeSessions !== 'function') throw new TypeError('revokeSessions must be a function');
    this.#revokeSessions = options.revokeSessions ?? null;
    this.#hasher = options.hasher ?? new PasswordHasher();
    this.#policy = options.policy ?? createPasswordPolicy({ appName: options.appName });
    if (options.requireEmail !== undefined && typeof options.requireEmail !== 'boolean') throw new TypeError('requireEmail must be a boolean');
    this.#requireEmail = options.requireEmail === true;
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function');
    const cache = resolveCacheOptions('userCache', options.userCache);
    this.#userCache = cache === null ? null : new ExpiringCache(cache.ttl, cache.maxEntries, options.now ?? Date.now);
    Object.freeze(this);
  }

  /** Subscribes to an account event; returns the unsubscribe function. */
  on<E extends keyof AccountEvents>(event: E, listener: (payload: AccountEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** The account with this id (for the login manager's `loadUser`), from the user cache if set. */
  async loadUser(id: string): Promise<UserRecord | null> {
    const cache = this.#userCache;
    if (cache === null) return this.#users.getUserById(id);
    const hit = cache.get(id);
    if (hit !== undefined) return hit;
    const ticket = cache.begin();
    const user = await this.#users.getUserById(id);
    cache.put(id, user, ticket);
    return user;
  }

  /** Runs a write to one account, dropping its cached copy before and after it ({@link dropAround}). */
  #writing<T>(userId: string, write: () => Promise<T>): Promise<T> {
    const cache = this.#userCache;
    return cache === null ? write() : dropAround(() => cache.drop(userId), write);
  }

  /**
   * Registers an account with an email address, a username or both (only an email address with
   * `requireEmail`). Field errors come back together, each with its reason; an address or
   * username already taken gives `exists` without any hashing (SEC-12: the hasher is no open door),
   * and a race between two registrations is decided by the store's unique index. With a
   * `registrationThrottle`, the IP's registrations are counted first (SEC-53).
   */
  async register(input: { email?: unknown; name?: unknown; password?: unknown; username?: unknown; ip?: string | null }): Promise<RegisterResult> {
    const errors: Record<string, string> = {};
    const { email, username } = checkIdentifiers(input, this.#requireEmail, errors);
    const name = checkName(input.name);
    if (!name.ok) errors.name = name.reason;
    const password = this.#policy.check(input.password, {
      email: email?.canonical,
      name: name.ok ? name.value : undefined,
      username: username?.canonical,
    });
    if (!password.ok) errors.password = password.reason;
    if (!name.ok || !password.ok || Object.keys(errors).length > 0) return { ok: false, reason: 'invalid', errors };
    const login = (email ?? username)?.canonical ?? '';
    if (this.#registrationThrottle) {
      const ip = input.ip ?? null;
      const verdict = await this.#registrationThrottle.countRequest({ ip });
      if (!verdict.ok) {
        this.#events.emit('throttled', { login, ip, scope: verdict.reason, retryAfter: verdict.retryAfter });
        return { ok: false, reason: 'throttled', retryAfter: verdict.retryAfter };
      }
    }
    const [byEmail, byUsername] = await Promise.all([
      email === null ? null : this.#users.getUserByLogin(email.canonical),
      username === null ? null : this.#users.getUserByLogin(username.canonical),
    ]);
    if (byEmail !== null) return { ok: false, reason: 'exists', field: 'email' };
    if (byUsername !== null) return { ok: false, reason: 'exists', field: 'username' };
    const user = await this.#users.createUser({
      email: email?.typed ?? null,
      emailCanonical: email?.canonical ?? null,
      username: username?.typed ?? null,
      usernameCanonical: username?.canonical ?? null,
      name: name.value,
      passwordHash: await this.#hasher.hash(password.password),
    });
    if (user === null) return this.#taken(email?.canonical ?? null);
    this.#events.emit('registered', { user });
    return { ok: true, user };
  }

  /**
   * Checks a login (email or username) and password. Exactly one password verification per
   * attempt whatever the outcome (SEC-14); throttled before verifying (SEC-12, SEC-51), under one
   * counter per account whichever identifier was typed (finding 7); a valid `device` token (the
   * `device` of an earlier success, SEC-52) exempts from the per-account delay and lock. A stored
   * hash of older parameters or another scheme is replaced by argon2id (SEC-03).
   */
  async authenticate(input: { login?: unknown; password?: unknown; ip?: string | null; device?: string | null }): Promise<AuthenticateResult> {
    const login = canonicalLogin(input.login);
    if (!login.ok) return this.#malformed(input, input.login, { login: login.reason });
    const limits = this.#policy.limits(input.password);
    if (!limits.ok) return this.#malformed(input, login.value, { password: limits.reason });
    const raw = input.password as string;
    const password = normalizePassword(raw);
    const ip = input.ip ?? null;
    const device = typeof input.device === 'string' ? input.device : null;
    // A read, no hashing: the account's own counter whichever identifier was typed (finding 7); an
    // unknown identifier has one of its own, with the same thresholds (SEC-17).
    const user = await this.#users.getUserByLogin(login.value);
    const key = user === null ? `login:${login.value}` : `id:${user.id}`;
    return this.#serialized(key, login.value, ip, async () => {
      const attempt = await this.#reserve(key, login.value, ip, device);
      return attempt.ok ? this.#verify(user, login.value, password, raw, ip, attempt) : attempt;
    });
  }

  /** An attempt that could never be a login: no hashing, no throttle count, but an event (SEC-68). */
  #malformed(input: { ip?: string | null }, login: unknown, errors: FieldErrors): AuthenticateResult {
    const sent = typeof login === 'string' ? login : null;
    this.#events.emit('loginFailed', { login: sent, ip: input.ip ?? null, reason: 'malformed', userId: null, failures: null });
    return { ok: false, reason: 'malformed', errors };
  }

  /** Reserves an attempt on the throttle (see {@link LoginThrottle.reserve}), or the throttled answer. */
  async #reserve(key: string, login: string, ip: string | null, device: string | null): Promise<Reservation | Throttled> {
    if (this.#throttle === null) return UNTHROTTLED;
    const attempt = await this.#throttle.reserve({ account: key, ip, device });
    if (attempt.ok) return attempt;
    this.#events.emit('throttled', { login, ip, scope: attempt.reason, retryAfter: attempt.retryAfter });
    return { ok: false, reason: 'throttled', retryAfter: attempt.retryAfter };
  }

  /** Runs `attempt` after the earlier attempts on `key` in this process have finished. */
  async #serialized<T>(key: string, login: string, ip: string | null, attempt: () => Promise<T | Throttled>): Promise<T | Throttled> {
    const queue = this.#queues.get(key) ?? { tail: Promise.resolve(), length: 0 };
    if (queue.length >= MAX_QUEUED) {
      this.#events.emit('throttled', { login, ip, scope: 'account', retryAfter: 1 });
      return { ok: false, reason: 'throttled', retryAfter: 1 };
    }
    const previous = queue.tail;
    let release!: () => void;
    queue.tail = new Promise<void>((resolve) => { release = resolve; });
    queue.length++;
    this.#queues.set(key, queue);
    try {
      await previous;
      return await attempt();
    } finally {
      queue.length--;
      if (queue.length === 0) this.#queues.delete(key);
      release();
    }
  }

  async #verify(user: UserRecord | null, login: string, password: string, raw: string, ip: string | null, attempt: Reservation): Promise<AuthenticateResult> {
    let failure: 'unknown' | 'password' | 'inactive' | null = null;
    let rehash = false;
    if (user === null) {
      await this.#hasher.verifyDummy(password);
      failure = 'unknown';
    } else {
      let verdict = await this.#hasher.verify(password, user.passwordHash);
      // Hashes imported from werkzeug, Django or bcrypt were made from the password as typed, not
      // its NFKC form (SEC-09): try that too, then the rehash below stores the NFKC form.
      if (!verdict.ok && raw !== password && !/^\$(argon2|scrypt\$)/.test(user.passwordHash)) {
        verdict = await this.#hasher.verify(raw, user.passwordHash);
      }
      rehash = verdict.needsRehash;
      if (!verdict.ok) failure = 'password';
      else if (!user.isActive) failure = 'inactive';
    }
    if (failure !== null || user === null) {
      const failures = await attempt.fail();
      this.#events.emit('loginFailed', { login, ip, reason: failure ?? 'unknown', userId: user?.id ?? null, failures });
      return { ok: false, reason: 'invalid' };
    }
    const { device } = await attempt.succeed();
    return { ok: true, user: rehash ? await this.#rehash(user, password) : user, device };
  }

  /**
   * The password of an owner who is logged in already, checked once, throttled by their session
   * (`session:<user>:<session>`) rather than by the account: strangers' failures on the account
   * never refuse its owner's re-authentication or password change (finding 8, SEC-52), while a
   * stolen session still cannot guess without limit (the session's own delays and lock, the IP's
   * cap). Without a session (no `auth`), the account's counter applies.
   */
  async #confirmOwner(user: UserRecord, input: unknown, auth: RequestAuth<any, any> | undefined, ip: string | null): Promise<ConfirmPasswordResult> {
    const limits = this.#policy.limits(input);
    if (!limits.ok) return { ok: false, reason: 'malformed', errors: { password: limits.reason } };
    const session = auth ? await auth.session() : null;
    const key = session === null ? `id:${user.id}` : `session:${user.id}:${session.id}`;
    const login = loginKey(user);
    return this.#serialized(key, login, ip, async () => {
      const attempt = await this.#reserve(key, login, ip, null);
      if (!attempt.ok) return attempt;
      const verdict = await this.#hasher.verify(normalizePassword(input as string), user.passwordHash);
      if (!verdict.ok) {
        const failures = await attempt.fail();
        this.#events.emit('loginFailed', { login, ip, reason: 'password', userId: user.id, failures });
        return { ok: false, reason: 'invalid' };
      }
      await attempt.succeed();
      return { ok: true, user };
    });
  }

  /**
   * Re-authentication of a logged-in user (SEC-35, "sudo mode"): checks the user's password,
   * throttled by `auth`'s session rather than the account (see changePassword). On success, make
   * the login fresh (`auth.confirmLogin()`).
   */
  async confirmPassword(input: { userId: string; password?: unknown; auth?: RequestAuth<any, any>; ip?: string | null }): Promise<ConfirmPasswordResult> {
    const user = await this.#users.getUserById(input.userId);
    if (user === null) throw new TypeError(`confirmPassword: no account ${input.userId}`);
    if (!user.isActive) return { ok: false, reason: 'invalid' };
    return this.#confirmOwner(user, input.password, input.auth, input.ip ?? null);
  }

  /**
   * Changes a password: the current one is required (SEC-10), checked as by
   * {@link confirmPassword}, so throttled by `auth`'s session, not by the account its owner may be
   * locked out of by strangers (finding 8); the new one meets the policy, and every other session
   * and remember-me series of the user ends (SEC-33). With `auth`, this browser stays logged in
   * under a new token; without, every session of the user ends.
   */
  async changePassword(input: {
    userId: string;
    currentPassword?: unknown;
    newPassword?: unknown;
    auth?: RequestAuth<any, any>;
    ip?: string | null;
  }): Promise<ChangePasswordResult> {
    const user = await this.#users.getUserById(input.userId);
    if (user === null) throw new TypeError(`changePassword: no account ${input.userId}`);
    const next = this.#policy.check(input.newPassword, { email: user.email ?? undefined, name: user.name, username: user.username ?? undefined });
    const current = await this.#confirmOwner(user, input.currentPassword, input.auth, input.ip ?? null);
    if (!current.ok && current.reason === 'throttled') return current;
    if (!current.ok) return { ok: false, reason: 'invalid', errors: { current_password: 'Current password is incorrect.' } };
    if (!next.ok) return { ok: false, reason: 'invalid', errors: { new_password: next.reason } };
    const hash = await this.#hasher.hash(next.password);
    await this.#writing(user.id, () => this.#users.updatePasswordHash(user.id, hash));
    const updated: UserRecord = Object.freeze({ ...user, passwordHash: hash });
    let sessionsEnded = 0;
    if (input.auth) sessionsEnded = await input.auth.revokeOtherSessions();
    else if (this.#revokeSessions) sessionsEnded = await this.#revokeSessions(user.id);
    this.#events.emit('passwordChanged', { user: updated });
    return { ok: true, user: updated, sessionsEnded };
  }

  /**
   * Clears the failed-login counter of an account, lifting its delay or lock (SEC-51): what an
   * operator's `unlock` does, and what a password reset will do. Resolves false without a throttle.
   */
  async unlockAccount(userId: string): Promise<boolean> {
    if (typeof userId !== 'string' || userId === '') throw new TypeError('unlockAccount: userId must be a non-empty string');
    if (this.#throttle === null) return false;
    await this.#throttle.recordSuccess({ account: `id:${userId}` });
    return true;
  }

  /** Deactivates an account and ends all its sessions and remember-me series (SEC-32). */
  async deactivate(userId: string): Promise<boolean> {
    const changed = await this.#writing(userId, () => this.#users.setUserActive(userId, false));
    if (changed && this.#revokeSessions) await this.#revokeSessions(userId);
    return changed;
  }

  /**
   * Stores an account hashed elsewhere (werkzeug, Django, bcrypt, argon2) as is: its owner logs in
   * with the old password and the hash becomes argon2id at that login. Identifiers are checked and
   * canonicalised as at registration, an email address, a username or both; the password policy
   * cannot be checked (there is no password).
   */
  async importUser(input: { email?: unknown; name?: unknown; username?: unknown; passwordHash: string; isActive?: boolean }): Promise<ImportUserResult> {
    const errors: Record<string, string> = {};
    const { email, username } = checkIdentifiers(input, false, errors);
    const name = checkName(input.name ?? (typeof input.username === 'string' ? input.username : input.email));
    if (!name.ok) errors.name = name.reason;
    if (typeof input.passwordHash !== 'string' || input.passwordHash.length === 0 || input.passwordHash.length > 1024) {
      errors.password = 'Password hash must be a non-empty string.';
    }
    if (!name.ok || Object.keys(errors).length > 0) return { ok: false, reason: 'invalid', errors };
    const user = await this.#users.createUser({
      email: email?.typed ?? null,
      emailCanonical: email?.canonical ?? null,
      username: username?.typed ?? null,
      usernameCanonical: username?.canonical ?? null,
      name: name.value,
      passwordHash: input.passwordHash,
      isActive: input.isActive !== false,
    });
    return user === null ? this.#taken(email?.canonical ?? null) : { ok: true, user };
  }

  /** Which identifier a refused insert collided on: one extra read, on the conflict path only. */
  async #taken(emailCanonical: string | null): Promise<Extract<RegisterResult, { reason: 'exists' }>> {
    const owner = emailCanonical === null ? null : await this.#users.getUserByLogin(emailCanonical);
    return { ok: false, reason: 'exists', field: owner !== null && owner.emailCanonical === emailCanonical ? 'email' : 'username' };
  }

  /** Replaces an outdated hash; a failed write never fails the login (SEC-03). */
  async #rehash(user: UserRecord, password: string): Promise<UserRecord> {
    try {
      const hash = await this.#hasher.hash(password);
      if (!(await this.#writing(user.id, () => this.#users.updatePasswordHash(user.id, hash, user.passwordHash)))) return user;
      const updated: UserRecord = Object.freeze({ ...user, passwordHash: hash });
      this.#events.emit('passwordRehashed', { user: updated });
      return updated;
    } catch (error) {
      this.#events.emit('rehashFailed', { user, error });
      return user;
    }
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
