/**
 * The login manager: Flask-Login's `LoginManager`. It holds the validated options, the store and
 * the event listeners, makes a {@link RequestAuth} for each request, and offers the operations
 * that are not tied to a request: listing and revoking a user's sessions, and the per-user
 * invalidation (Flask-Login's "alternative id") that a password change or a deactivation calls to
 * end every session and remember-me series of a user at once (ASVS 7.4.3, SEC-32, SEC-33).
 *
 * @module manager
 */
import { anonymousUser as defaultAnonymous, type AnonymousUser } from './anonymous.ts';
import { LoginEventEmitter, type LoginEventListener, type LoginEventName } from './events.ts';
import { endOwnedSession, endUserLogins } from './browser-session.ts';
import { jarSettings } from './cookie-jar.ts';
import { touchInterval } from './current-user.ts';
import { Fingerprints } from './fingerprint.ts';
import { guardCalls, guardStore } from './lib/guarded-store.ts';
import { isTokenStore, TOKEN_STORE_METHODS } from './token-store.ts';
import { signValue, verifyValue } from './signed.ts';
import { resolveOptions, type LoginManagerOptions, type ResolvedOptions } from './options.ts';
import { RequestAuth, type AuthCore, type DenyHandler } from './request-auth.ts';
import { cacheStore, SessionCache } from './session-cache.ts';
import { toSessionInfo, type SessionInfo } from './session-info.ts';
import type { RequestAuthInit, RequestLike } from './request.ts';

export type { DenyHandler } from './request-auth.ts';

/**
 * What `manager.options` shows: the validated options without the secret keys (they sign CSRF
 * tokens, flash, `next` and `encodeCookie` values) and without the raw store, whose calls would
 * bypass the manager's deadline guard and session cache. Frozen.
 */
export type ManagerOptionsView<U, R> = Omit<ResolvedOptions<U, R>, 'keys' | 'store'>;

/** Options of {@link createLoginManager}: the manager's options plus the two custom handlers. */
export interface CreateLoginManagerOptions<U, R> extends LoginManagerOptions<U, R> {
  /** Flask-Login's `unauthorized_handler`: the response for anonymous visitors on protected routes. */
  unauthorizedHandler?: DenyHandler<U, R>;
  /** Flask-Login's `needs_refresh_handler`: the response for stale logins on fresh-only routes. */
  needsRefreshHandler?: DenyHandler<U, R>;
}

/** A configured login manager. Make one per app with {@link createLoginManager}. */
export class LoginManager<U, R = AnonymousUser> {
  /** The validated options, frozen, without the secret keys and the raw store (see {@link ManagerOptionsView}). */
  readonly options: ManagerOptionsView<U, R>;
  readonly #core: AuthCore<U, R>;

  constructor(options: CreateLoginManagerOptions<U, R>) {
    const resolved = resolveOptions(options);
    const { keys: _keys, store: _store, ...view } = resolved;
    this.options = Object.freeze(view);
    const cacheOptions = resolved.sessionCache;
    const sessionCache = cacheOptions === null ? null : new SessionCache<U>(cacheOptions.ttl, cacheOptions.maxEntries, resolved.now);
    const guarded = guardStore(resolved.store, resolved.storeTimeout);
    const store = sessionCache === null ? guarded : cacheStore(guarded, sessionCache);
    const factory = resolved.anonymousUser ?? (() => defaultAnonymous as R);
    const handler = (name: string, value: DenyHandler<U, R> | undefined) => {
      if (value !== undefined && typeof value !== 'function') throw new TypeError(`${name} must be a function`);
      return value ?? null;
    };
    this.#core = Object.freeze({
      options: resolved,
      touchInterval: touchInterval(resolved.idleTimeout),
      store,
      sessionCache,
      tokens: isTokenStore(resolved.store) ? guardCalls(resolved.store, TOKEN_STORE_METHODS, resolved.storeTimeout, 'store: tokens') : null,
      events: new LoginEventEmitter<U>(),
      fingerprints: new Fingerprints(),
      cookies: jarSettings(resolved),
      anonymousUser: factory,
      unauthorizedHandler: handler('unauthorizedHandler', options.unauthorizedHandler),
      needsRefreshHandler: handler('needsRefreshHandler', options.needsRefreshHandler),
    });
    Object.freeze(this);
  }

  /**
   * The authentication context of one request. Adapters call this; apps rarely need to.
   *
   * @example
   * ```ts
   * const auth = manager.forRequest(request, { remoteAddress: '127.0.0.1' });
   * ```
   */
  forRequest(request: RequestLike, init: RequestAuthInit = {}): RequestAuth<U, R> {
    return new RequestAuth(this.#core, request, init);
  }

  /** Subscribes to an event (Flask-Login's signals); returns the unsubscribe function. */
  on<E extends LoginEventName>(event: E, listener: LoginEventListener<U, E>): () => void {
    return this.#core.events.on(event, listener);
  }

  /** The user's live sessions, newest first (for an admin page; no session is `current`). */
  async listUserSessions(userId: string): Promise<SessionInfo[]> {
    const sessions = await this.#core.store.listUserSessions(userId);
    return sessions.map((s) => toSessionInfo(s, null));
  }

  /** Ends one session if it belongs to `userId`; false otherwise. Emits `sessionRevoked`. */
  async revokeSession(userId: string, sessionId: string): Promise<boolean> {
    const ended = await endOwnedSession(this.#core.store, userId, sessionId);
    if (ended) this.#core.events.emit('sessionRevoked', { request: null, userId, scope: 'one', sessionId, sessions: 1 });
    return ended;
  }

  /**
   * Ends every session and remember-me series of a user ("log out everywhere"): call it when the
   * password changes, the account is disabled or deleted (ASVS 7.4.3, SEC-32, SEC-33).
   * `exceptSessionId` keeps one session (the one changing the password); its remember-me series
   * ends too: use `RequestAuth.revokeOtherSessions` to keep this browser's. Emits `sessionRevoked`.
   */
  async revokeUserSessions(userId: string, options: { exceptSessionId?: string } = {}): Promise<{ sessions: number; rememberTokens: number }> {
    const ended = await endUserLogins(this.#core.store, userId, options.exceptSessionId);
    const scope = options.exceptSessionId === undefined ? 'all' : 'others';
    this.#core.events.emit('sessionRevoked', { request: null, userId, scope, sessionId: null, sessions: ended.sessions });
    return ended;
  }

  /**
   * Signs a string with the manager's secret (Flask-Login's `encode_cookie`), for values an app
   * keeps in cookies of its own. Latchkey's own remember-me cookie does not use it: it is a
   * server-side series, revocable, where Flask-Login's is this signature over the user id.
   */
  encodeCookie(payload: string): string {
    if (typeof payload !== 'string') throw new TypeError('encodeCookie takes a string');
    return signValue(this.#core.options.keys, 'cookie', payload);
  }

  /** The payload of a value made by {@link encodeCookie}, or null if it was altered (`decode_cookie`). */
  decodeCookie(cookie: string): string | null {
    const payload = verifyValue(this.#core.options.keys, 'cookie', typeof cookie === 'string' ? cookie : undefined);
    return typeof payload === 'string' ? payload : null;
  }

  /** Resolves when the store answers within the store timeout; for health checks. */
  async ping(): Promise<void> {
    await this.#core.store.ping();
  }
}

/**
 * Makes a login manager.
 *
 * @example
 * ```ts
 * const manager = createLoginManager({
 *   store: new SqliteStore({ path: 'app.db' }),
 *   secret: process.env.SECRET_KEY!,
 *   loadUser: (id) => db.findUser(id),
 *   loginView: '/login',
 * });
 * ```
 */
export function createLoginManager<U, R = AnonymousUser>(options: CreateLoginManagerOptions<U, R>): LoginManager<U, R> {
  return new LoginManager(options);
}
