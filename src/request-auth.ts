/**
 * The per-request face of the login manager: what Flask-Login spreads over `current_user`,
 * `login_user`, `logout_user`, `confirm_login`, `login_fresh`, `login_remembered` and `flash`.
 * One is made for each request by an adapter (or by `manager.forRequest`). It reads cookies
 * lazily: a request that never asks who the user is costs nothing and writes nothing (Flask-Login
 * tests 125-154, 885), and the answer, once computed, is cached for the request.
 *
 * Cookies it decides on are handed to the adapter's `onSetCookie` as soon as they are decided
 * (Express must set headers before the body is sent) and are also available from
 * {@link RequestAuth.setCookies} (for adapters that append them after the handler, like Hono's).
 *
 * Finding the user from the session cookie, on every authenticated request, is done here; the rest
 * acts through modules of its own, handed this request's cookies explicitly: starting and ending
 * sessions (browser-session), remember-me (remember), the guards' deny response and `next`
 * (login-redirect), CSRF (csrf), and what an account page shows of a session (session-info).
 *
 * @module request-auth
 */
import { endLogin, endReplacedLogin, startSession, type SessionRequest } from './browser-session.ts';
import { serializeCookie, readCookies } from './cookie.ts';
import { checkRequestCsrf, csrfTokenFor, renewCsrfNonce, type CsrfCheck, type CsrfRequest } from './csrf.ts';
import { LatchkeyError, StoreUnavailableError } from './errors.ts';
import { decodeFlashes, encodeFlashes, type FlashMessage } from './flash.ts';
import { safeEqual, sha256 } from './lib/encoding.ts';
import { parseToken } from './lib/tokens.ts';
import { checkGuardOptions, denyResponse, resolveNextTarget, type GuardOptions, type RedirectRequest } from './login-redirect.ts';
import { NOBODY, type Core, type Resolution } from './core.ts';
import { requireRememberDuration } from './options.ts';
import { forwardedFor, forwardedProto } from './proxy.ts';
import { keepRememberSeries, restoreRememberedLogin, startRememberSeries, type RememberRequest } from './remember.ts';
import { isSafeMethod, type RequestLike } from './request.ts';
import { toSessionInfo, type SessionInfo } from './session-info.ts';
import type { Session } from './store.ts';

/**
 * How long a session may go without its sliding expiry being written, for an idle timeout: a tenth
 * of it, at most a minute (SEC-28: "write-throttled ≤1/min"), so most requests only read (STYLE.md
 * §4) whatever the timeout. The write lags a request by less than this interval, so a user whose
 * requests are less than 0.9 × idleTimeout apart is never logged out, and a session ends at most
 * idleTimeout after its last request. The manager computes it once, at construction.
 */
export function touchInterval(idleTimeout: number): number {
  return Math.min(60_000, Math.floor(idleTimeout / 10));
}
/** SHA-256 of recent User-Agent strings: the fingerprint is computed on every authenticated request. */
const FINGERPRINTS = new Map<string, string>();

/**
 * What a failing `loadUser` or `requestLoader` becomes: a {@link StoreUnavailableError} (a 503)
 * keeping the app's error as `cause`. The user's source is down, so the request is denied, never
 * answered as anonymous nor left to the framework's 500 (SEC-67, ASVS 16.5.3). Latchkey's own
 * coded errors (a user store's) pass through.
 */
function loaderFailed(name: string, error: unknown): LatchkeyError {
  return error instanceof LatchkeyError ? error : new StoreUnavailableError(`${name}() failed`, { cause: error });
}

/** Options of {@link RequestAuth.login}, as in Flask-Login's `login_user`. */
export interface LoginOptions {
  /** Also set a remember-me cookie that restores a non-fresh login later. @default false */
  remember?: boolean;
  /** Lifetime of this login's remember-me cookie (ms or `"7d"`). @default the manager's rememberDuration */
  duration?: number | string;
  /** Log the user in even if inactive. @default false */
  force?: boolean;
  /** Whether the login counts as fresh (a password was just typed). @default true */
  fresh?: boolean;
}

/** A handler that replaces the default unauthorized or needs-refresh response. */
export type DenyHandler<U, R> = (auth: RequestAuth<U, R>) => Response | Promise<Response>;

/** The manager's {@link Core}, with the two deny handlers, which receive this facade. Internal. */
export interface AuthCore<U, R> extends Core<U, R> {
  readonly unauthorizedHandler: DenyHandler<U, R> | null;
  readonly needsRefreshHandler: DenyHandler<U, R> | null;
}

/**
 * Authentication state and actions for one request.
 *
 * @example
 * ```ts
 * const auth = manager.forRequest(request);
 * const user = await auth.user();            // null when nobody is logged in
 * if (await checkPassword(form)) await auth.login(user, { remember: true });
 * ```
 */
export class RequestAuth<U, R> {
  readonly request: RequestLike;
  readonly #core: AuthCore<U, R>;
  readonly #remoteAddress: string | null;
  readonly #onSetCookie: ((cookie: string) => void) | null;
  readonly #onUse: (() => void) | null;
  readonly #secure: boolean;
  readonly #pending = new Map<string, string>();
  #jar: Map<string, string> | null = null;
  #resolution: Promise<Resolution<U>> | null = null;
  #flashes: FlashMessage[] | null = null;
  #used = false;

  constructor(
    core: AuthCore<U, R>,
    request: RequestLike,
    init: { remoteAddress?: string | null; onSetCookie?: (cookie: string) => void; onUse?: () => void } = {},
  ) {
    this.#core = core;
    this.request = request;
    this.#remoteAddress = init.remoteAddress ?? null;
    this.#onSetCookie = init.onSetCookie ?? null;
    this.#onUse = init.onUse ?? null;
    this.#secure = request.url.startsWith('https:') || forwardedProto(request.headers.get('x-forwarded-proto'), core.options.trustProxy) === 'https';
  }

  /** True when the request came over HTTPS (directly, or through a trusted proxy). */
  get secure(): boolean {
    return this.#secure;
  }

  /**
   * The origin the browser sees, e.g. `https://app.example.com`, or null when the request's URL
   * does not parse (a malformed `Host` header): such a request gets no same-origin trust at all.
   */
  get origin(): string | null {
    const url = URL.parse(this.request.url);
    return url === null ? null : `${this.#secure ? 'https:' : url.protocol}//${url.host}`;
  }

  /**
   * The client's IP: with `trustProxy`, the `X-Forwarded-For` entry the outermost trusted proxy
   * appended, when it is an address; otherwise the socket's (SEC-53, proxy.ts).
   */
  get clientIp(): string | null {
    return forwardedFor(this.request.headers.get('x-forwarded-for'), this.#core.options.trustProxy) ?? this.#remoteAddress;
  }

  /** True once this request read or changed authentication state: its response must not be cached (SEC-25). */
  get used(): boolean {
    return this.#used;
  }

  /** The `Set-Cookie` values decided so far, one per cookie name, last decision wins. */
  setCookies(): string[] {
    return [...this.#pending.values()];
  }

  // ------------------------------------------------------------------ who is logged in

  /** The logged-in user, or null. Flask-Login's `current_user`, loaded lazily and cached. */
  async user(): Promise<U | null> {
    return (await this.#resolve()).user;
  }

  /** The logged-in user, or the manager's anonymous user object (Flask-Login's `current_user`). */
  async currentUser(): Promise<U | R> {
    const user = await this.user();
    if (user !== null) return user;
    return this.#core.anonymousUser();
  }

  /** True when a user is logged in (by session, remember-me cookie or request loader). */
  async isAuthenticated(): Promise<boolean> {
    return (await this.user()) !== null;
  }

  /**
   * True when the user typed a password for this login, within `freshTimeout` of it (Flask-Login's
   * `login_fresh`): counted from the login or the last `confirmLogin`, never from a rotation (SEC-35).
   * Remember-me and request-loader logins are never fresh.
   */
  async isFresh(): Promise<boolean> {
    const { session, user } = await this.#resolve();
    if (!session || !user || !session.fresh) return false;
    const limit = this.#core.options.freshTimeout;
    return limit === null || this.#core.options.now() - session.authenticatedAt < limit;
  }

  /** True when this login came from, or set, a remember-me cookie (Flask-Login's `login_remembered`). */
  async isRemembered(): Promise<boolean> {
    const { session, via } = await this.#resolve();
    return via === 'remember' || (session !== null && session.rememberSeries !== null);
  }

  /** The current session, as an account page shows it, or null. */
  async session(): Promise<SessionInfo | null> {
    const { session, user } = await this.#resolve();
    return session && user ? toSessionInfo(session, session.id) : null;
  }

  // ------------------------------------------------------------------ login, logout, freshness

  /**
   * Logs `user` in: ends this browser's previous session and starts one under a new token
   * (no fixation, ASVS 7.2.4), optionally with a remember-me series. Returns false, changing
   * nothing, for an inactive user unless `force` (Flask-Login's `login_user`).
   */
  async login(user: U, options: LoginOptions = {}): Promise<boolean> {
    const o = this.#core.options;
    const lifetime = options.duration === undefined ? o.rememberDuration : requireRememberDuration('duration', options.duration);
    if (!options.force && !o.isActive(user)) return false;
    const userId = o.getUserId(user);
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 255) {
      throw new TypeError('getUserId must return a non-empty string of at most 255 characters');
    }
    await this.#endBrowserSession();
    let series: string | null = null;
    if (options.remember) {
      series = await startRememberSeries(this.#core, this.#internals(), userId, lifetime);
    } else if (this.#cookie(o.cookieNames.remember) !== undefined) {
      this.#clearCookie(o.cookieNames.remember);
    }
    const fresh = options.fresh !== false;
    const session = await startSession(this.#core, this.#internals(), userId, fresh, series);
    renewCsrfNonce(this.#internals(), o); // no pre-login token outlives the login (SEC-44)
    this.#resolution = Promise.resolve({ user, session, via: 'session' });
    this.#core.events.emit('loggedIn', { user, request: this.request, remember: series !== null, fresh });
    return true;
  }

  /**
   * Logs out: deletes the server-side session and remember-me series, clears both cookies on this
   * response, whatever the session held (Flask-Login #600), and replaces the pre-login CSRF nonce.
   * If the store is down it still does the cookies, then throws the store's error (a 503, §5.6).
   */
  async logout(): Promise<true> {
    const o = this.#core.options;
    try {
      const { user, session, via } = await this.#resolve();
      await endLogin(this.#core.store, session, this.#cookie(o.cookieNames.remember), via === 'remember');
      this.#resolution = Promise.resolve(NOBODY);
      this.#core.events.emit('loggedOut', { user, request: this.request });
    } finally {
      // Even when the store failed: nothing flashed for this login may outlive it (SEC-50).
      this.#flashes = [];
      this.#clearCookie(o.cookieNames.session);
      this.#clearCookie(o.cookieNames.remember);
      if (this.#cookie('lk-flash') !== undefined && this.#flashes?.length === 0) this.#clearCookie('lk-flash');
      renewCsrfNonce(this.#internals(), o); // nor does a token minted before it (SEC-44, SEC-23)
    }
    return true;
  }

  /**
   * Marks the login fresh again after the user re-entered their password (Flask-Login's
   * `confirm_login`), under a new session token (ASVS 7.2.4). It is a re-authentication: freshness
   * and both timeouts, idle and absolute, start over (SEC-29 "re-auth resets both timers", SEC-35).
   * Call it only after the user proved it is them again (their password, a second factor), never
   * to keep a session going. Returns false when there is no session to confirm.
   */
  async confirmLogin(): Promise<boolean> {
    const current = await this.#resolve();
    if (!current.session) return false;
    await this.#replaceSession(current, true, current.session.rememberSeries, false);
    this.#core.events.emit('loginConfirmed', { user: current.user, request: this.request });
    return true;
  }

  /**
   * Issues a new session token for the same login, e.g. after a change of privileges (SEC-23). The
   * login stays what it was: as fresh, authenticated at the same time, ending at the same absolute
   * expiry (SEC-29, SEC-35).
   */
  async rotateSession(): Promise<boolean> {
    const current = await this.#resolve();
    if (!current.session) return false;
    await this.#replaceSession(current, current.session.fresh, current.session.rememberSeries, true);
    return true;
  }

  /**
   * Ends every other session and every other remember-me series of the user ("log out other
   * sessions", SEC-32, SEC-33). This browser keeps its login under a new token, with the same
   * freshness and absolute expiry (as {@link rotateSession}), and its remember-me series, if its
   * cookie is the session's, with the same expiry under a new validator. Returns how many sessions
   * ended.
   */
  async revokeOtherSessions(): Promise<number> {
    const current = await this.#resolve();
    if (!current.session) return 0;
    const { userId, id, rememberSeries } = current.session;
    const ended = await this.#core.store.deleteUserSessions(userId, id);
    const series = await keepRememberSeries(this.#core, this.#internals(), userId, rememberSeries);
    if (series === 'stolen') {
      this.#resolution = Promise.resolve(NOBODY); // this login ended with the others (SEC-38)
    } else {
      await this.#replaceSession(current, current.session.fresh, series, true);
    }
    this.#core.events.emit('sessionRevoked', { request: this.request, userId, scope: 'others', sessionId: null, sessions: ended });
    return ended;
  }

  /** The user's live sessions, this one marked `current`. */
  async listSessions(): Promise<SessionInfo[]> {
    const { session } = await this.#resolve();
    if (!session) return [];
    const sessions = await this.#core.store.listUserSessions(session.userId);
    return sessions.map((s) => toSessionInfo(s, session.id));
  }

  /** Ends one of the logged-in user's sessions by id; false if it is not theirs or gone. */
  async revokeSession(sessionId: string): Promise<boolean> {
    const { session } = await this.#resolve();
    if (!session) return false;
    if (sessionId === session.id) {
      await this.logout();
      return true;
    }
    const ended = await this.#core.revokeSession(session.userId, sessionId);
    if (ended) this.#core.events.emit('sessionRevoked', { request: this.request, userId: session.userId, scope: 'one', sessionId, sessions: 1 });
    return ended;
  }

  /** Emits `loginFailed`, for apps that check passwords themselves. */
  reportLoginFailure(login: string | null, reason: string): void {
    this.#core.events.emit('loginFailed', { request: this.request, login, reason });
  }

  // ------------------------------------------------------------------ guards

  /**
   * What `loginRequired` / `freshLoginRequired` do: null to go on, or the response to send.
   * OPTIONS is exempt so that CORS preflights work (Flask-Login's EXEMPT_METHODS).
   */
  async requireLogin(options: GuardOptions & { fresh?: boolean } = {}): Promise<Response | null> {
    if (this.request.method === 'OPTIONS') return null;
    if (!(await this.user())) return this.unauthorized(options);
    if (options.fresh && !(await this.isFresh())) return this.needsRefresh(options);
    return null;
  }

  /**
   * The response for an anonymous visitor on a protected route (Flask-Login's `unauthorized`):
   * the custom handler's, else JSON 401 for API clients, else a redirect to the login view with
   * the login message flashed and `next` in the query (or a signed cookie), else 401.
   */
  async unauthorized(options: GuardOptions = {}): Promise<Response> {
    checkGuardOptions(options, 'unauthorized');
    const o = this.#core.options;
    this.#core.events.emit('unauthorized', { request: this.request });
    if (this.#core.unauthorizedHandler) return this.#core.unauthorizedHandler(this);
    const view = options.loginView === undefined ? o.loginView : options.loginView;
    return denyResponse(this.#internals(), o, 401, view, o.loginMessage, o.loginMessageCategory, options.next);
  }

  /** The response for a stale login on a fresh-only route (Flask-Login's `needs_refresh`): JSON 403 or a redirect. */
  async needsRefresh(options: GuardOptions = {}): Promise<Response> {
    checkGuardOptions(options, 'needsRefresh');
    const o = this.#core.options;
    this.#core.events.emit('needsRefresh', { request: this.request });
    if (this.#core.needsRefreshHandler) return this.#core.needsRefreshHandler(this);
    const view = options.refreshView === undefined ? o.refreshView : options.refreshView;
    return denyResponse(this.#internals(), o, 403, view, o.needsRefreshMessage, o.needsRefreshMessageCategory, options.next);
  }

  /**
   * Where to send the user after logging in: `candidate` (a form field), else the `next` query
   * parameter, else the `next` kept by `useSessionForNext`, made safe by `safeNext`: anything
   * that could leave this origin becomes `fallback` (SEC-49).
   */
  nextTarget(candidate?: unknown, fallback = '/'): string {
    return resolveNextTarget(this.#internals(), this.#core.options, candidate, fallback);
  }

  // ------------------------------------------------------------------ flash messages

  /** Queues a message for the next page (Flask's `flash`). */
  flash(message: string, category = 'message'): void {
    if (typeof message !== 'string' || typeof category !== 'string') throw new TypeError('flash() takes strings');
    const list = this.#readFlashes();
    list.push({ category, message });
    this.#setCookie('lk-flash', encodeFlashes(this.#core.options.keys, list));
  }

  /** The queued messages, removed as they are read (Flask's `get_flashed_messages`). */
  getFlashedMessages(): FlashMessage[] {
    const list = this.#readFlashes();
    this.#flashes = [];
    if (list.length > 0 || this.#cookie('lk-flash') !== undefined) this.#clearCookie('lk-flash');
    return list;
  }

  #readFlashes(): FlashMessage[] {
    this.#flashes ??= decodeFlashes(this.#core.options.keys, this.#cookie('lk-flash'));
    return this.#flashes;
  }

  // ------------------------------------------------------------------ CSRF

  /** The CSRF token to put in this page's forms as `_csrf` (or send as `X-CSRF-Token`). */
  async csrfToken(): Promise<string> {
    return csrfTokenFor(this.#internals(), this.#core.options);
  }

  /**
   * Checks an unsafe request for CSRF: origin first, then, unless the body is JSON or the request
   * has no Content-Type (curl's `-X POST`, a `fetch` without body), the token
   * from the `X-CSRF-Token` header or `readFormToken()` (the `_csrf` form field; never the query
   * string, SEC-43). Safe methods always pass.
   */
  async checkCsrf(readFormToken: () => unknown | Promise<unknown>): Promise<CsrfCheck> {
    if (isSafeMethod(this.request.method)) return { ok: true };
    const check = await checkRequestCsrf(this.#internals(), this.#core.options, readFormToken);
    if (!check.ok) this.#core.events.emit('csrfRefused', { request: this.request, reason: check.reason });
    return check;
  }

  // ------------------------------------------------------------------ internals

  #resolve(): Promise<Resolution<U>> {
    this.#resolution ??= this.#load();
    return this.#resolution;
  }

  /** Flask-Login's `_load_user`: session cookie, then remember-me cookie, then request loader. */
  async #load(): Promise<Resolution<U>> {
    const { options: o, events } = this.#core;
    this.#markUsed();
    events.emit('accessed', { request: this.request });
    const fromSession = await this.#fromSession();
    if (fromSession === 'protected') return NOBODY;
    if (fromSession) return fromSession;
    if (this.#cookie(o.cookieNames.remember) !== undefined) {
      const restored = await restoreRememberedLogin(this.#core, this.#internals());
      if (restored) return restored;
    }
    // An invalid remember cookie does not block the request loader (Flask-Login #901).
    if (o.requestLoader) {
      let user: U | null;
      try {
        user = (await o.requestLoader(this.request)) ?? null;
      } catch (error) {
        throw loaderFailed('requestLoader', error);
      }
      if (user !== null && o.isActive(user)) {
        events.emit('loadedFromRequest', { user, request: this.request });
        return { user, session: null, via: 'request' };
      }
    }
    return NOBODY;
  }

  async #fromSession(): Promise<Resolution<U> | 'protected' | null> {
    const { options: o, store, events } = this.#core;
    let session = await this.#validSession();
    if (!session) return null;
    if (o.sessionProtection !== null && session.identifier !== this.#identifier()) {
      events.emit('sessionProtected', { request: this.request, userId: session.userId, mode: o.sessionProtection });
      if (o.sessionProtection === 'strong') {
        await store.deleteSession(session.id);
        if (session.rememberSeries) await store.deleteRememberToken(session.rememberSeries);
        this.#clearCookie(o.cookieNames.session);
        this.#clearCookie(o.cookieNames.remember);
        return 'protected';
      }
      session = await store.updateSession(session.id, { fresh: false, identifier: this.#identifier() });
    } else if (o.now() - session.lastSeenAt >= this.#core.touchInterval) {
      session = await store.updateSession(session.id, { idleTimeout: o.idleTimeout });
    }
    if (!session) return null; // ended by a concurrent logout: never resurrected (SEC-34)
    const user = await this.#loadActive(session.userId, session.id);
    return user === null ? null : { user, session, via: 'session' };
  }

  /** The session named by the cookie, if it exists and the secret's hash matches; else clears the cookie. */
  async #validSession(): Promise<Session | null> {
    const name = this.#core.options.cookieNames.session;
    const raw = this.#cookie(name);
    if (raw === undefined) return null;
    const token = parseToken(raw);
    const session = token ? await this.#core.store.getSession(token.id) : null;
    if (!token || !session || !safeEqual(session.secretHash, sha256(token.secret))) {
      const reason = !token ? 'malformed' : !session ? 'unknown' : 'mismatch';
      this.#core.events.emit('sessionInvalid', { request: this.request, reason, sessionId: token?.id ?? null });
      this.#clearCookie(name);
      return null;
    }
    return session;
  }

  /** `loadUser` and `isActive`; with `sessionCache`, the user loaded for `sessionId` is reused. */
  async #loadActive(userId: string, sessionId?: string): Promise<U | null> {
    const { loadUser, isActive } = this.#core.options;
    if (!loadUser) return null;
    const cached = sessionId === undefined ? undefined : this.#core.sessionCache?.get(sessionId);
    let user = cached?.user;
    if (user === undefined) {
      try {
        user = (await loadUser(userId)) ?? null;
      } catch (error) {
        throw loaderFailed('loadUser', error);
      }
      // An entry dropped meanwhile (logout, deactivation) is detached: writing to it is harmless.
      if (cached !== undefined) cached.user = user;
    }
    return user !== null && isActive(user) ? user : null;
  }

  /** Ends the session this browser holds before a login replaces it (SEC-23). */
  async #endBrowserSession(): Promise<void> {
    const session = this.#resolution ? (await this.#resolution).session : await this.#validSession();
    await endReplacedLogin(this.#core.store, session, this.#cookie(this.#core.options.cookieNames.remember));
  }

  /** A new token for `current`'s login; `sameLogin` keeps its authentication time and absolute expiry. */
  async #replaceSession(current: Resolution<U>, fresh: boolean, rememberSeries: string | null, sameLogin: boolean): Promise<void> {
    const old = current.session as Session;
    const session = await startSession(this.#core, this.#internals(), old.userId, fresh, rememberSeries, sameLogin ? old : null);
    await this.#core.store.deleteSession(old.id);
    this.#resolution = Promise.resolve({ user: current.user, session, via: 'session' });
  }

  /**
   * What browser-session, remember, csrf and login-redirect may do to this request: explicit
   * closures, so that the `#` fields stay private. Built per call, on those paths only; the path of
   * a request with a valid session never builds one (it is benchmarked, bench/protected.ts).
   */
  #internals(): RememberRequest<U> & SessionRequest & CsrfRequest & RedirectRequest {
    return {
      request: this.request,
      origin: () => this.origin,
      clientIp: () => this.clientIp,
      identifier: () => this.#identifier(),
      currentSession: async () => (await this.#resolve()).session,
      cookie: (base) => this.#cookie(base),
      setCookie: (base, value, maxAge?: number) => this.#setCookie(base, value, maxAge),
      replaceCookie: (base, value) => {
        this.#setCookie(base, value);
        this.#jar?.set(this.#name(base), value);
      },
      clearCookie: (base) => this.#clearCookie(base),
      flash: (message, category) => this.flash(message, category),
      loadActive: (userId) => this.#loadActive(userId),
    };
  }

  /** Session-protection fingerprint: the User-Agent only, never the IP (Flask-Login #192, #700). */
  #identifier(): string {
    const userAgent = this.request.headers.get('user-agent') ?? '';
    let fingerprint = FINGERPRINTS.get(userAgent);
    if (fingerprint === undefined) {
      fingerprint = sha256(userAgent);
      if (FINGERPRINTS.size >= 1024) FINGERPRINTS.clear(); // a bounded cache: clients reuse a handful of User-Agents
      FINGERPRINTS.set(userAgent, fingerprint);
    }
    return fingerprint;
  }

  /** Over HTTPS every cookie gets the `__Host-` prefix: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2). */
  #name(base: string): string {
    return this.#secure ? `__Host-${base}` : base;
  }

  #cookie(base: string): string | undefined {
    if (this.#jar === null) {
      const o = this.#core.options;
      const names = [o.cookieNames.session, o.cookieNames.remember, 'lk-csrf', 'lk-flash', 'lk-next'].map((n) => this.#name(n));
      this.#jar = readCookies(this.request.headers.get('cookie'), names);
    }
    return this.#jar.get(this.#name(base));
  }

  #setCookie(base: string, value: string, maxAge?: number): void {
    const o = this.#core.options;
    const attributes = { httpOnly: true, secure: this.#secure, sameSite: o.sameSite, path: '/' } as const;
    const cookie = serializeCookie(this.#name(base), value, maxAge === undefined ? attributes : { ...attributes, maxAge }, o.now());
    this.#markUsed();
    this.#pending.set(base, cookie);
    this.#onSetCookie?.(cookie);
  }

  #markUsed(): void {
    if (this.#used) return;
    this.#used = true;
    this.#onUse?.();
  }

  #clearCookie(base: string): void {
    this.#setCookie(base, '', 0);
  }
}
