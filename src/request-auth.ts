/**
 * The per-request face of the login manager: what Flask-Login spreads over `current_user`,
 * `login_user`, `logout_user`, `confirm_login`, `login_fresh`, `login_remembered` and `flash`.
 * One is made for each request by an adapter (or by `manager.forRequest`). A facade: it holds the
 * request facts (scheme, origin, client IP) and hands them explicitly, with the request's cookie
 * jar (cookie-jar) and current user (current-user, read lazily and once), to the modules that act:
 * login-lifecycle, second-step (the pending second factor), login-redirect (the guards' deny
 * response and `next`), csrf, flash and own-sessions. Cookies it decides on go to the adapter's
 * `onSetCookie` at once (Express sets headers before the body) and are also in
 * {@link RequestAuth.setCookies} (for adapters that append them after the handler, like Hono's).
 *
 * @module request-auth
 */
import { CookieJar } from './cookie-jar.ts';
import type { Core } from './core.ts';
import { checkRequestCsrf, csrfTokenFor, type CsrfCheck } from './csrf.ts';
import { CurrentUser } from './current-user.ts';
import { FlashQueue, type FlashMessage } from './flash.ts';
import { confirmLogin, loginUser, logoutUser, revokeOtherSessions, rotateSession, type ConfirmLoginOptions, type LoginOptions } from './login-lifecycle.ts';
import { deny, missingGuard, resolveNextTarget, type GuardOptions } from './login-redirect.ts';
import { currentSessionInfo, listOwnSessions, revokeOwnSession } from './own-sessions.ts';
import { forwardedFor, forwardedProto } from './proxy.ts';
import { isSafeMethod, type RequestAuthInit, type RequestLike } from './request.ts';
import { beginSecondStep, cancelSecondStep, completeSecondStep, pendingSecondStep, type CompleteSecondStepOptions, type PendingSecondStep, type SecondStepOptions } from './second-step.ts';
import type { SessionInfo } from './session-info.ts';

export type { ConfirmLoginOptions, LoginOptions } from './login-lifecycle.ts';

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
  readonly #jar: CookieJar;
  readonly #current: CurrentUser<U, R>;
  #flashes: FlashQueue | null = null;

  constructor(core: AuthCore<U, R>, request: RequestLike, init: RequestAuthInit = {}) {
    this.#core = core;
    this.request = request;
    this.#remoteAddress = init.remoteAddress ?? null;
    const secure = request.url.startsWith('https:') || forwardedProto(request.headers.get('x-forwarded-proto'), core.options.trustProxy) === 'https';
    this.#jar = new CookieJar(request, secure, core.cookies, init.onSetCookie ?? null, init.onUse ?? null);
    this.#current = new CurrentUser(core, this, this.#jar);
  }

  /** True when the request came over HTTPS (directly, or through a trusted proxy). */
  get secure(): boolean {
    return this.#jar.secure;
  }

  /** The origin the browser sees, e.g. `https://app.example.com`; null for an unparseable URL (a malformed `Host`): no same-origin trust. */
  get origin(): string | null {
    const url = URL.parse(this.request.url);
    return url === null ? null : `${this.#jar.secure ? 'https:' : url.protocol}//${url.host}`;
  }

  /** The client's IP: with `trustProxy`, the `X-Forwarded-For` entry the outermost trusted proxy appended; else the socket's (SEC-53). */
  get clientIp(): string | null {
    return forwardedFor(this.request.headers.get('x-forwarded-for'), this.#core.options.trustProxy) ?? this.#remoteAddress;
  }

  /** True once this request read or changed authentication state: its response must not be cached (SEC-25). */
  get used(): boolean {
    return this.#jar.used;
  }

  /** The `Set-Cookie` values decided so far, one per cookie name, last decision wins. */
  setCookies(): string[] {
    return this.#jar.setCookies();
  }

  // ------------------------------------------------------------------ who is logged in

  /** The logged-in user, or null. Flask-Login's `current_user`, loaded lazily and cached. */
  async user(): Promise<U | null> {
    return (await this.#current.resolve()).user;
  }

  /** The logged-in user, without `| null`, behind `loginRequired()`; throws TypeError when nobody is logged in (a route lacking its guard). */
  async requireUser(): Promise<U> {
    return (await this.user()) ?? missingGuard();
  }

  /** The logged-in user, or the manager's anonymous user object (Flask-Login's `current_user`). */
  async currentUser(): Promise<U | R> {
    return (await this.user()) ?? this.#core.anonymousUser();
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
    return this.#current.isFresh();
  }

  /** True when this login came from, or set, a remember-me cookie (Flask-Login's `login_remembered`). */
  async isRemembered(): Promise<boolean> {
    const { session, via } = await this.#current.resolve();
    return via === 'remember' || (session !== null && session.rememberSeries !== null);
  }

  /** The current session, as an account page shows it, or null. */
  async session(): Promise<SessionInfo | null> {
    return currentSessionInfo(this.#current);
  }

  // ------------------------------------------------------------------ login, logout, freshness

  /**
   * Logs `user` in: ends this browser's previous session and starts one under a new token
   * (no fixation, ASVS 7.2.4), optionally with a remember-me series. Returns false, changing
   * nothing, for an inactive user unless `force` (Flask-Login's `login_user`).
   */
  async login(user: U, options: LoginOptions = {}): Promise<boolean> {
    return loginUser(this.#core, this, this.#jar, this.#current, user, options);
  }

  /**
   * Logs out: deletes the server-side session and remember-me series, clears both cookies on this
   * response, whatever the session held (Flask-Login #600), and replaces the pre-login CSRF nonce.
   * If the store is down it still does the cookies, then throws the store's error (a 503, §5.6).
   * A pending second step ends too (SEC-80).
   */
  async logout(): Promise<true> {
    this.#flashQueue().discard(); // even when the store fails: nothing flashed for this login may outlive it (SEC-50)
    try {
      await logoutUser(this.#core, this, this.#jar, this.#current);
    } finally {
      await cancelSecondStep(this.#core, this.#jar);
    }
    return true;
  }

  /**
   * Marks the login fresh again after the user re-entered their password (Flask-Login's
   * `confirm_login`), under a new session token (ASVS 7.2.4). It is a re-authentication: freshness
   * and both timeouts, idle and absolute, start over (SEC-29 "re-auth resets both timers", SEC-35).
   * Call it only after the user proved it is them again (their password, a second factor), never
   * to keep a session going; `methods` (default `['pwd']`) join the login's (SEC-84). False without a session.
   */
  async confirmLogin(options?: ConfirmLoginOptions): Promise<boolean> {
    return confirmLogin(this.#core, this, this.#jar, this.#current, options);
  }

  /**
   * Issues a new session token for the same login, e.g. after a change of privileges (SEC-23). The
   * login stays what it was: as fresh, authenticated at the same time, ending at the same absolute
   * expiry (SEC-29, SEC-35).
   */
  async rotateSession(): Promise<boolean> {
    return rotateSession(this.#core, this, this.#jar, this.#current);
  }

  /**
   * Ends every other session and every other remember-me series of the user ("log out other
   * sessions", SEC-32, SEC-33). This browser keeps its login under a new token, with the same
   * freshness and absolute expiry (as {@link rotateSession}), and its remember-me series, if its cookie
   * is the session's, with the same expiry under a new validator. Returns how many sessions ended.
   */
  async revokeOtherSessions(): Promise<number> {
    return revokeOtherSessions(this.#core, this, this.#jar, this.#current);
  }

  /** The user's live sessions, this one marked `current`. */
  async listSessions(): Promise<SessionInfo[]> {
    return listOwnSessions(this.#core, this.#current);
  }

  /** Ends one of the logged-in user's sessions by id; false if it is not theirs or gone. */
  async revokeSession(sessionId: string): Promise<boolean> {
    return revokeOwnSession(this.#core, this, this.#current, sessionId, () => this.logout());
  }

  // ------------------------------------------------------------------ the pending second step (second-step.ts)

  /** After a correct password for a user with a second factor: a pending step, NOT a login (SEC-80); false for an inactive user. */
  async beginSecondStep(user: U, options?: SecondStepOptions): Promise<boolean> {
    return beginSecondStep(this.#core, this, this.#jar, this.#current, user, options);
  }

  /** This browser's live pending step, else null (a tampered, expired or unknown cookie is cleared). Never a login. */
  async pendingSecondStep(): Promise<PendingSecondStep | null> {
    return pendingSecondStep(this.#core, this.#jar);
  }

  /** After the second factor `method` (default `otp`) was verified: consumes the step, logs `user` in fresh with `['pwd', method]` (SEC-84); false without a live step of `user`'s. */
  async completeSecondStep(user: U, options?: CompleteSecondStepOptions): Promise<boolean> {
    return completeSecondStep(this.#core, this, this.#jar, this.#current, user, options);
  }

  /** Deletes this browser's pending step and clears its cookie. */
  async cancelSecondStep(): Promise<void> {
    return cancelSecondStep(this.#core, this.#jar);
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
    return deny(this, this.#jar, this.#core, 'unauthorized', this.#core.unauthorizedHandler, options);
  }

  /** The response for a stale login on a fresh-only route (Flask-Login's `needs_refresh`): JSON 403 or a redirect. */
  async needsRefresh(options: GuardOptions = {}): Promise<Response> {
    return deny(this, this.#jar, this.#core, 'needsRefresh', this.#core.needsRefreshHandler, options);
  }

  /**
   * Where to send the user after logging in: `candidate` (a form field), else the `next` query
   * parameter, else the `next` kept by `useSessionForNext`, made safe by `safeNext`: anything
   * that could leave this origin becomes `fallback` (SEC-49).
   */
  nextTarget(candidate?: unknown, fallback = '/'): string {
    return resolveNextTarget(this, this.#jar, this.#core.options, candidate, fallback);
  }

  // ------------------------------------------------------------------ flash messages

  /** Queues a message for the next page (Flask's `flash`). */
  flash(message: string, category = 'message'): void {
    this.#flashQueue().push(message, category);
  }

  /** The queued messages, removed as they are read (Flask's `get_flashed_messages`). */
  getFlashedMessages(): FlashMessage[] {
    return this.#flashQueue().take();
  }

  #flashQueue(): FlashQueue {
    return (this.#flashes ??= new FlashQueue(this.#core.options.keys, this.#jar));
  }

  // ------------------------------------------------------------------ CSRF

  /** The CSRF token to put in this page's forms as `_csrf` (or send as `X-CSRF-Token`). */
  async csrfToken(): Promise<string> {
    return csrfTokenFor(this.#jar, this.#current, this.#core.options);
  }

  /**
   * Checks an unsafe request for CSRF: origin first, then, unless the body is JSON or the request has
   * no Content-Type (curl's `-X POST`, a `fetch` without body), the token from the `X-CSRF-Token`
   * header or `readFormToken()` (the `_csrf` form field; never the query string, SEC-43). Safe methods pass.
   */
  async checkCsrf(readFormToken: () => unknown | Promise<unknown>): Promise<CsrfCheck> {
    if (isSafeMethod(this.request.method)) return { ok: true };
    const check = await checkRequestCsrf(this, this.#jar, this.#current, this.#core.options, readFormToken);
    if (!check.ok) this.#core.events.emit('csrfRefused', { request: this.request, reason: check.reason });
    return check;
  }
}
