/**
 * The login lifecycle of one browser: Flask-Login's `login_user`, `logout_user` and
 * `confirm_login`, plus the new session token of a rotation and "log out other sessions". Each
 * step that changes who is logged in ends the browser's previous session and starts one under a
 * new token (no fixation, ASVS 7.2.4, SEC-23), renews the pre-login CSRF nonce (SEC-44) and
 * settles the request's current user, so the rest of the request reads the new state.
 *
 * Every function acts for one request, handed its facts, its cookie jar and its current user;
 * the request-auth facade documents them as methods.
 *
 * @module login-lifecycle
 */
import { checkAuthMethods, withAuthMethod } from './auth-methods.ts';
import { clearLoginCookies, endSession, startSession } from './browser-session.ts';
import type { CookieJar } from './cookie-jar.ts';
import { NOBODY, userIdOf, type Core, type RequestFacts, type Resolution } from './core.ts';
import { renewCsrfNonce } from './csrf.ts';
import type { CurrentUser } from './current-user.ts';
import { FLASH_COOKIE } from './flash.ts';
import { requireRememberDuration } from './options.ts';
import { keepRememberSeries, startRememberSeries, STOLEN } from './remember.ts';
import type { Session } from './store.ts';

/** Options of `RequestAuth.login`, as in Flask-Login's `login_user`. */
export interface LoginOptions {
  /** Also set a remember-me cookie that restores a non-fresh login later. @default false */
  remember?: boolean;
  /** Lifetime of this login's remember-me cookie (ms or `"7d"`). @default the manager's rememberDuration */
  duration?: number | string;
  /** Log the user in even if inactive. @default false */
  force?: boolean;
  /** Whether the login counts as fresh (a password was just typed). @default true */
  fresh?: boolean;
  /**
   * How the user authenticated, RFC 8176-like (`pwd`, `otp`, `hwk`…), recorded with the session and
   * shown in the session list (SEC-84); at most 8, each `/^[a-z][a-z0-9-]{0,15}$/`.
   * @default ['pwd'] for a fresh login, [] with `fresh: false`
   */
  methods?: readonly string[];
}

/** `RequestAuth.login`: false, changing nothing, for an inactive user unless `force`. */
export async function loginUser<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  jar: CookieJar,
  current: CurrentUser<U, R>,
  user: U,
  options: LoginOptions,
): Promise<boolean> {
  const o = core.options;
  const lifetime = options.duration === undefined ? o.rememberDuration : requireRememberDuration('duration', options.duration);
  const fresh = options.fresh !== false;
  const methods = options.methods === undefined ? (fresh ? ['pwd'] : []) : checkAuthMethods('methods', options.methods);
  if (!options.force && !o.isActive(user)) return false;
  const userId = userIdOf(o, user);
  // The login this browser held ends before the new one starts (SEC-23).
  await endSession(core.store, await current.held(), jar.get(o.cookieNames.remember));
  let series: string | null = null;
  if (options.remember) {
    series = await startRememberSeries(core, jar, userId, lifetime);
  } else if (jar.get(o.cookieNames.remember) !== undefined) {
    jar.clear(o.cookieNames.remember);
  }
  const session = await startSession(core, auth, jar, userId, fresh, series, methods);
  renewCsrfNonce(jar, o); // no pre-login token outlives the login (SEC-44)
  current.settle({ user, session, via: 'session' });
  core.events.emit('loggedIn', { user, request: auth.request, remember: series !== null, fresh });
  return true;
}

/**
 * `RequestAuth.logout`: ends the login in the store, then, even when the store failed (its error
 * is thrown after), clears both cookies and the flash cookie and renews the CSRF nonce (SEC-50, SEC-44, SEC-23).
 */
export async function logoutUser<U, R>(core: Core<U, R>, auth: RequestFacts, jar: CookieJar, current: CurrentUser<U, R>): Promise<void> {
  const o = core.options;
  try {
    const { user, session, via } = await current.resolve();
    await endSession(core.store, session, via === 'remember' ? jar.get(o.cookieNames.remember) : undefined);
    current.settle(NOBODY);
    core.events.emit('loggedOut', { user, request: auth.request });
  } finally {
    clearLoginCookies(jar, o.cookieNames);
    // Nothing flashed for this login may outlive it (SEC-50).
    if (jar.get(FLASH_COOKIE) !== undefined) jar.clear(FLASH_COOKIE);
    renewCsrfNonce(jar, o); // nor does a token minted before it (SEC-44, SEC-23)
  }
}

/** Options of `RequestAuth.confirmLogin`. */
export interface ConfirmLoginOptions {
  /**
   * What the user proved again, RFC 8176-like: each joins the login's methods (SEC-84), so a
   * step-up with a second factor records it (`['pwd', 'otp']`, `['pwd', 'hwk']`).
   * @default ['pwd']
   */
  methods?: readonly string[];
}

/**
 * `RequestAuth.confirmLogin`: a re-authentication, fresh again under a new token; false without a
 * session. The methods re-proved (the password by default) join the login's methods (SEC-84).
 */
export async function confirmLogin<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  jar: CookieJar,
  current: CurrentUser<U, R>,
  options: ConfirmLoginOptions = {},
): Promise<boolean> {
  // Checked before anything is read: a misuse throws, whatever the session.
  const proved = options.methods === undefined ? ['pwd'] : checkAuthMethods('methods', options.methods);
  const resolved = await current.resolve();
  if (!resolved.session) return false;
  const methods = proved.reduce(withAuthMethod, resolved.session.methods);
  await replaceSession(core, auth, jar, current, resolved, true, resolved.session.rememberSeries, false, methods);
  core.events.emit('loginConfirmed', { user: resolved.user, request: auth.request });
  return true;
}

/** `RequestAuth.rotateSession`: the same login under a new token; false without a session. */
export async function rotateSession<U, R>(core: Core<U, R>, auth: RequestFacts, jar: CookieJar, current: CurrentUser<U, R>): Promise<boolean> {
  const resolved = await current.resolve();
  if (!resolved.session) return false;
  const { fresh, rememberSeries, methods } = resolved.session;
  await replaceSession(core, auth, jar, current, resolved, fresh, rememberSeries, true, methods);
  return true;
}

/** `RequestAuth.revokeOtherSessions`: how many sessions ended. */
export async function revokeOtherSessions<U, R>(core: Core<U, R>, auth: RequestFacts, jar: CookieJar, current: CurrentUser<U, R>): Promise<number> {
  const resolved = await current.resolve();
  if (!resolved.session) return 0;
  const { userId, id, rememberSeries, fresh, methods } = resolved.session;
  const ended = await core.store.deleteUserSessions(userId, id);
  const series = await keepRememberSeries(core, auth, jar, userId, rememberSeries);
  if (series === STOLEN) {
    current.settle(NOBODY); // this login ended with the others (SEC-38)
  } else {
    await replaceSession(core, auth, jar, current, resolved, fresh, series, true, methods);
  }
  core.events.emit('sessionRevoked', { request: auth.request, userId, scope: 'others', sessionId: null, sessions: ended });
  return ended;
}

/**
 * A new token for `resolved`'s login, recording `methods`; `sameLogin` keeps its authentication
 * time and absolute expiry.
 */
async function replaceSession<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  jar: CookieJar,
  current: CurrentUser<U, R>,
  resolved: Resolution<U>,
  fresh: boolean,
  rememberSeries: string | null,
  sameLogin: boolean,
  methods: readonly string[],
): Promise<void> {
  const old = resolved.session as Session;
  const session = await startSession(core, auth, jar, old.userId, fresh, rememberSeries, methods, sameLogin ? old : null);
  await core.store.deleteSession(old.id);
  current.settle({ user: resolved.user, session, via: 'session' });
}
