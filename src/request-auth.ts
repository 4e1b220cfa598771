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
 * @module request-auth
 */
import { serializeCookie, readCookies } from './cookie.ts';
import { matchesCsrfToken, checkRequestOrigin, deriveCsrfToken } from './csrf.ts';
import { requireDuration } from './duration.ts';
import { decodeFlashes, encodeFlashes, type FlashMessage } from './flash.ts';
import { isBase64url, safeEqual, sha256 } from './lib/encoding.ts';
import { jsonResponse, redirectResponse, textResponse } from './lib/responses.ts';
import { ID_LENGTH, parseToken, randomToken } from './lib/tokens.ts';
import type { Core } from './manager.ts';
import { loginUrl, makeNextParam, safeNext } from './next.ts';
import { hasJsonBody, isSafeMethod, wantsJson, type RequestLike } from './request.ts';
import { signValue, verifyValue } from './signed.ts';
import type { Session } from './store.ts';

/** How long a session may go without its sliding expiry being written (STYLE.md §4). */
const TOUCH_INTERVAL = 60_000;
/** SHA-256 of recent User-Agent strings: the fingerprint is computed on every authenticated request. */
const FINGERPRINTS = new Map<string, string>();
/** User-Agent strings kept for the session list are cut to this many characters. */
const MAX_USER_AGENT = 512;

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

/** Options of the guards: per-router login and refresh views (Flask-Login's blueprint_login_views). */
export interface GuardOptions {
  /** Override the manager's loginView for this route or router; null answers 401. */
  loginView?: string | null;
  /** Override the manager's refreshView; null answers 401. */
  refreshView?: string | null;
  /**
   * Where to come back to after logging in or re-authenticating, instead of this request's URL:
   * for POST-only routes, whose URL cannot be opened with GET (a same-origin path).
   */
  next?: string;
}

/** A session of the user's, as shown in an account page (no secret material). */
export interface SessionInfo {
  readonly id: string;
  /** True for the session of the request that asked. */
  readonly current: boolean;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly userAgent: string | null;
  readonly ipAddress: string | null;
  readonly fresh: boolean;
  readonly remembered: boolean;
}

/** The outcome of {@link RequestAuth.checkCsrf}. */
export type CsrfCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

type Via = 'session' | 'remember' | 'request' | null;
interface Resolution<U> {
  readonly user: U | null;
  readonly session: Session | null;
  readonly via: Via;
}
const NOBODY: Resolution<never> = Object.freeze({ user: null, session: null, via: null });

/** Turns a stored session into what an account page may show. */
export function toSessionInfo(session: Session, currentId: string | null): SessionInfo {
  return Object.freeze({
    id: session.id,
    current: session.id === currentId,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt,
    expiresAt: session.expiresAt,
    userAgent: session.userAgent,
    ipAddress: session.ipAddress,
    fresh: session.fresh,
    remembered: session.rememberSeries !== null,
  });
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
  readonly #core: Core<U, R>;
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
    core: Core<U, R>,
    request: RequestLike,
    init: { remoteAddress?: string | null; onSetCookie?: (cookie: string) => void; onUse?: () => void } = {},
  ) {
    this.#core = core;
    this.request = request;
    this.#remoteAddress = init.remoteAddress ?? null;
    this.#onSetCookie = init.onSetCookie ?? null;
    this.#onUse = init.onUse ?? null;
    this.#secure = request.url.startsWith('https:') || (core.options.trustProxy && this.#forwarded('x-forwarded-proto') === 'https');
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

  /** The client's IP: the socket's, or the nearest `X-Forwarded-For` hop with `trustProxy`. */
  get clientIp(): string | null {
    return (this.#core.options.trustProxy && this.#forwarded('x-forwarded-for', true)) || this.#remoteAddress;
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
   * True when the user typed a password during this session, within `freshTimeout`
   * (Flask-Login's `login_fresh`). Remember-me and request-loader logins are never fresh.
   */
  async isFresh(): Promise<boolean> {
    const { session, user } = await this.#resolve();
    if (!session || !user || !session.fresh) return false;
    const limit = this.#core.options.freshTimeout;
    return limit === null || this.#core.options.now() - session.createdAt < limit;
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
    const lifetime = options.duration === undefined ? o.rememberDuration : requireDuration('duration', options.duration, 1000);
    if (!options.force && !o.isActive(user)) return false;
    const userId = o.getUserId(user);
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 255) {
      throw new TypeError('getUserId must return a non-empty string of at most 255 characters');
    }
    await this.#endBrowserSession();
    let series: string | null = null;
    if (options.remember) {
      series = await this.#createRemember(userId, Math.min(lifetime, 400 * 86_400_000));
    } else if (this.#cookie(o.cookieNames.remember) !== undefined) {
      this.#clearCookie(o.cookieNames.remember);
    }
    const fresh = options.fresh !== false;
    const session = await this.#createSession(userId, fresh, series);
    this.#resolution = Promise.resolve({ user, session, via: 'session' });
    this.#core.events.emit('loggedIn', { user, request: this.request, remember: series !== null, fresh });
    return true;
  }

  /**
   * Logs out: deletes the server-side session and remember-me series and clears both cookies on
   * this response, whatever the session held (Flask-Login #600). If the store is down it still
   * clears the cookies, then throws the store's error (a 503, security.md §5.6).
   */
  async logout(): Promise<true> {
    const o = this.#core.options;
    try {
      const { user, session, via } = await this.#resolve();
      if (session) await this.#core.store.deleteSession(session.id);
      const series = new Set<string>();
      if (session?.rememberSeries) series.add(session.rememberSeries);
      const remembered = parseToken(this.#cookie(o.cookieNames.remember));
      if (remembered && via === 'remember') series.add(remembered.id);
      for (const id of series) await this.#core.store.deleteRememberToken(id);
      this.#resolution = Promise.resolve(NOBODY);
      this.#flashes = [];
      this.#core.events.emit('loggedOut', { user, request: this.request });
    } finally {
      this.#clearCookie(o.cookieNames.session);
      this.#clearCookie(o.cookieNames.remember);
      if (this.#cookie('lk-flash') !== undefined && this.#flashes?.length === 0) this.#clearCookie('lk-flash');
    }
    return true;
  }

  /**
   * Marks the login fresh again after the user re-entered their password (Flask-Login's
   * `confirm_login`), under a new session token (ASVS 7.2.4) whose timers start over (SEC-29).
   * Returns false when there is no session to confirm.
   */
  async confirmLogin(): Promise<boolean> {
    const current = await this.#resolve();
    if (!current.session) return false;
    await this.#replaceSession(current, true, current.session.rememberSeries);
    this.#core.events.emit('loginConfirmed', { user: current.user, request: this.request });
    return true;
  }

  /** Issues a new session token for the same login, e.g. after a change of privileges (SEC-23). */
  async rotateSession(): Promise<boolean> {
    const current = await this.#resolve();
    if (!current.session) return false;
    await this.#replaceSession(current, current.session.fresh, current.session.rememberSeries);
    return true;
  }

  /**
   * Ends every other session and every remember-me series of the user ("log out other
   * sessions", SEC-32, SEC-33); this browser keeps its login under a new token, and a new
   * remember-me series if it had one. Returns how many sessions ended.
   */
  async revokeOtherSessions(): Promise<number> {
    const current = await this.#resolve();
    if (!current.session) return 0;
    const { store, options } = this.#core;
    const ended = await store.deleteUserSessions(current.session.userId, current.session.id);
    await store.deleteUserRememberTokens(current.session.userId);
    const series = current.session.rememberSeries
      ? await this.#createRemember(current.session.userId, options.rememberDuration)
      : null;
    await this.#replaceSession(current, current.session.fresh, series);
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
    return this.#core.revokeSession(session.userId, sessionId);
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
    const o = this.#core.options;
    this.#core.events.emit('unauthorized', { request: this.request });
    if (this.#core.unauthorizedHandler) return this.#core.unauthorizedHandler(this);
    const view = options.loginView === undefined ? o.loginView : options.loginView;
    return this.#deny(401, view, o.loginMessage, o.loginMessageCategory, options.next);
  }

  /** The response for a stale login on a fresh-only route (Flask-Login's `needs_refresh`): JSON 403 or a redirect. */
  async needsRefresh(options: GuardOptions = {}): Promise<Response> {
    const o = this.#core.options;
    this.#core.events.emit('needsRefresh', { request: this.request });
    if (this.#core.needsRefreshHandler) return this.#core.needsRefreshHandler(this);
    const view = options.refreshView === undefined ? o.refreshView : options.refreshView;
    return this.#deny(403, view, o.needsRefreshMessage, o.needsRefreshMessageCategory, options.next);
  }

  #deny(jsonStatus: 401 | 403, view: string | null, text: string | null, category: string, nextPath?: string): Response {
    const o = this.#core.options;
    const message = text === null ? null : o.localize(text);
    if (wantsJson(this.request)) return jsonResponse(jsonStatus, { message: message ?? 'Unauthorized' });
    if (view === null) return textResponse(401, message ?? 'Unauthorized');
    if (message) this.flash(message, category);
    const forceHost = o.forceHostForRedirects ?? undefined;
    const url = URL.parse(this.request.url);
    if (nextPath !== undefined && (typeof nextPath !== 'string' || !nextPath.startsWith('/') || nextPath.startsWith('//'))) {
      throw new TypeError('the guard option next must be a same-origin path such as "/account"');
    }
    if (o.useSessionForNext && url !== null) {
      this.#setCookie('lk-next', signValue(o.keys, 'next', nextPath ?? url.pathname + url.search));
      return redirectResponse(this.request.method, loginUrl(view, { forceHost }));
    }
    const next = nextPath ?? makeNextParam(view, this.request.url);
    return redirectResponse(this.request.method, loginUrl(view, { next, forceHost }));
  }

  /**
   * Where to send the user after logging in: `candidate` (a form field), else the `next` query
   * parameter, else the `next` kept by `useSessionForNext`, made safe by {@link safeNext}: anything
   * that could leave this origin becomes `fallback` (SEC-49).
   */
  nextTarget(candidate?: unknown, fallback = '/'): string {
    let value = candidate;
    if (value === undefined || value === null || value === '') {
      const all = URL.parse(this.request.url)?.searchParams.getAll('next') ?? [];
      value = all.length > 0 ? (all.length === 1 ? all[0] : null) : undefined;
    }
    const stored = this.#cookie('lk-next');
    if (stored !== undefined) {
      this.#clearCookie('lk-next');
      if (value === undefined) value = verifyValue(this.#core.options.keys, 'next', stored);
    }
    const origin = this.origin;
    if (origin === null) return fallback;
    return safeNext(value, { origin, fallback, disallow: this.#loopTargets() });
  }

  #loopTargets(): string[] {
    const o = this.#core.options;
    return [o.loginView, o.refreshView].filter((v): v is string => v !== null && v.startsWith('/')).map((v) => v.split('?')[0] as string);
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
    const { session } = await this.#resolve();
    if (session) return deriveCsrfToken(this.#core.options.keys[0] as Uint8Array, `s.${session.id}`);
    let nonce = this.#cookie('lk-csrf');
    if (nonce === undefined || !isBase64url(nonce, ID_LENGTH)) {
      nonce = randomToken(this.#core.options.randomBytes, 16);
      this.#setCookie('lk-csrf', nonce);
      this.#jar?.set(this.#name('lk-csrf'), nonce);
    }
    return deriveCsrfToken(this.#core.options.keys[0] as Uint8Array, `a.${nonce}`);
  }

  /**
   * Checks an unsafe request for CSRF: origin first, then, unless the body is JSON or the request
   * has no Content-Type (curl's `-X POST`, a `fetch` without body), the token
   * from the `X-CSRF-Token` header or `readFormToken()` (the `_csrf` form field; never the query
   * string, SEC-43). Safe methods always pass.
   */
  async checkCsrf(readFormToken: () => unknown | Promise<unknown>): Promise<CsrfCheck> {
    if (isSafeMethod(this.request.method)) return { ok: true };
    const o = this.#core.options;
    const self = this.origin;
    const allowed = o.trustedOrigins.length > 0 ? o.trustedOrigins : self === null ? [] : [self];
    const refused = checkRequestOrigin(this.request, allowed);
    if (refused) return { ok: false, reason: refused };
    // A JSON body cannot come cross-site without a CORS preflight (SEC-46); neither can a request
    // with no Content-Type at all (an HTML form always sends one), whose Origin was checked above.
    if (hasJsonBody(this.request) || this.request.headers.get('content-type') === null) return { ok: true };
    const token = this.request.headers.get('x-csrf-token') ?? (await readFormToken());
    const { session } = await this.#resolve();
    const nonce = this.#cookie('lk-csrf');
    const binding = session ? `s.${session.id}` : nonce !== undefined ? `a.${nonce}` : null;
    if (binding !== null && matchesCsrfToken(o.keys, binding, token)) return { ok: true };
    return { ok: false, reason: 'The form has expired or its CSRF token is missing or wrong. Reload the page and try again.' };
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
      const restored = await this.#fromRemember();
      if (restored) return restored;
    }
    // An invalid remember cookie does not block the request loader (Flask-Login #901).
    if (o.requestLoader) {
      const user = (await o.requestLoader(this.request)) ?? null;
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
    } else if (o.now() - session.lastSeenAt >= TOUCH_INTERVAL) {
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
      this.#clearCookie(name);
      return null;
    }
    return session;
  }

  /** Restores a login from the remember-me cookie, rotating its validator (SEC-37…SEC-39). */
  async #fromRemember(): Promise<Resolution<U> | null> {
    const { options: o, store, events } = this.#core;
    const name = o.cookieNames.remember;
    const token = parseToken(this.#cookie(name));
    if (!token) {
      this.#clearCookie(name);
      return null;
    }
    const validator = randomToken(o.randomBytes, 32);
    const use = await store.useRememberToken(token.id, sha256(token.secret), sha256(validator), o.rememberGrace);
    if (!use) {
      this.#clearCookie(name);
      return null;
    }
    if (use.status === 'stolen') {
      // An old validator came back after its grace window: someone else holds a copy (SEC-38).
      await this.#core.revokeUserSessions(use.userId);
      this.#clearCookie(name);
      this.#clearCookie(o.cookieNames.session);
      events.emit('rememberTheft', { request: this.request, userId: use.userId });
      return null;
    }
    const user = await this.#loadActive(use.userId);
    if (user === null) {
      await store.deleteRememberToken(token.id);
      this.#clearCookie(name);
      return null;
    }
    let session: Session | null = null;
    if (use.status === 'valid') {
      this.#setCookie(name, `${token.id}.${validator}`, Math.floor((use.expiresAt - o.now()) / 1000));
      session = await this.#createSession(use.userId, false, token.id);
    }
    // `grace`: a parallel request of the same browser; the one that rotated sets the cookies (SEC-39).
    events.emit('loadedFromCookie', { user, request: this.request });
    return { user, session, via: 'remember' };
  }

  /** `loadUser` and `isActive`; with `sessionCache`, the user loaded for `sessionId` is reused. */
  async #loadActive(userId: string, sessionId?: string): Promise<U | null> {
    const { loadUser, isActive } = this.#core.options;
    if (!loadUser) return null;
    const cached = sessionId === undefined ? undefined : this.#core.sessionCache?.get(sessionId);
    let user = cached?.user;
    if (user === undefined) {
      user = (await loadUser(userId)) ?? null;
      // An entry dropped meanwhile (logout, deactivation) is detached: writing to it is harmless.
      if (cached !== undefined) cached.user = user;
    }
    return user !== null && isActive(user) ? user : null;
  }

  /** Ends the session this browser holds before a login replaces it (SEC-23). */
  async #endBrowserSession(): Promise<void> {
    const { store, options: o } = this.#core;
    const session = this.#resolution ? (await this.#resolution).session : await this.#validSession();
    if (session) {
      await store.deleteSession(session.id);
      if (session.rememberSeries) await store.deleteRememberToken(session.rememberSeries);
    }
    const remembered = parseToken(this.#cookie(o.cookieNames.remember));
    if (remembered && remembered.id !== session?.rememberSeries) await store.deleteRememberToken(remembered.id);
  }

  async #createSession(userId: string, fresh: boolean, rememberSeries: string | null): Promise<Session> {
    const o = this.#core.options;
    const id = randomToken(o.randomBytes, 16);
    const secret = randomToken(o.randomBytes, 32);
    const session = await this.#core.store.createSession({
      id,
      secretHash: sha256(secret),
      userId,
      fresh,
      rememberSeries,
      identifier: o.sessionProtection === null ? null : this.#identifier(),
      userAgent: this.request.headers.get('user-agent')?.slice(0, MAX_USER_AGENT) ?? null,
      ipAddress: this.clientIp,
      idleTimeout: o.idleTimeout,
      absoluteTimeout: o.absoluteTimeout,
    });
    // A browser-session cookie: no Max-Age, closing the browser drops it (app-contract.md).
    this.#setCookie(o.cookieNames.session, `${id}.${secret}`);
    return session;
  }

  async #createRemember(userId: string, lifetime: number): Promise<string> {
    const o = this.#core.options;
    const series = randomToken(o.randomBytes, 16);
    const validator = randomToken(o.randomBytes, 32);
    const { expiresAt } = await this.#core.store.createRememberToken({ series, validatorHash: sha256(validator), userId, lifetime });
    this.#setCookie(o.cookieNames.remember, `${series}.${validator}`, Math.floor((expiresAt - o.now()) / 1000));
    return series;
  }

  async #replaceSession(current: Resolution<U>, fresh: boolean, rememberSeries: string | null): Promise<void> {
    const old = current.session as Session;
    const session = await this.#createSession(old.userId, fresh, rememberSeries);
    await this.#core.store.deleteSession(old.id);
    this.#resolution = Promise.resolve({ user: current.user, session, via: 'session' });
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

  #forwarded(header: string, last = false): string | null {
    const value = this.request.headers.get(header);
    if (!value) return null;
    const parts = value.split(',');
    return (parts[last ? parts.length - 1 : 0] as string).trim().toLowerCase() || null;
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
