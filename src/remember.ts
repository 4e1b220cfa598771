/**
 * Remember-me, server side: a login kept across browser restarts as a `series.validator` cookie whose
 * store row holds only SHA-256 of the validator (SEC-36), so it can be revoked, unlike Flask-Login's
 * HMAC of the user id. {@link startRememberSeries} issues one at login; {@link restoreRememberedLogin}
 * turns it back into a (never fresh) login when the request has no valid session, rotating the
 * validator on each use (SEC-37), treating a replayed old validator as theft (SEC-38) and accepting
 * it for the grace window after a rotation, for parallel requests of one browser (SEC-39);
 * {@link keepRememberSeries} keeps this browser's series when the user logs out other sessions.
 *
 * All three act for one request, handed its facts and its cookie jar explicitly; none is on the
 * path of a request that has a valid session.
 *
 * @module remember
 */
import { clearLoginCookies, endUserLogins, startSession } from './browser-session.ts';
import type { CookieJar } from './cookie-jar.ts';
import type { Core, RequestFacts, Resolution } from './core.ts';
import { sha256 } from './lib/encoding.ts';
import { parseToken, randomToken } from './lib/tokens.ts';
import { loadActiveUser } from './load-user.ts';
import type { Session } from './store.ts';

/** What {@link keepRememberSeries} returns when the cookie's validator was a replayed old one. */
export const STOLEN: unique symbol = Symbol('stolen');

/**
 * Creates a remember-me series for `userId` that lives `lifetime` ms, and sets its cookie with the
 * matching Max-Age. Returns the series id, which the session records so that logout can end it.
 */
export async function startRememberSeries<U, R>(core: Core<U, R>, jar: CookieJar, userId: string, lifetime: number): Promise<string> {
  const o = core.options;
  const series = randomToken(o.randomBytes, 16);
  const validator = randomToken(o.randomBytes, 32);
  const { expiresAt } = await core.store.createRememberToken({ series, validatorHash: sha256(validator), userId, lifetime });
  jar.set(o.cookieNames.remember, `${series}.${validator}`, Math.floor((expiresAt - o.now()) / 1000));
  return series;
}

/**
 * Restores a login from the remember-me cookie, rotating its validator (SEC-37…SEC-39), or returns
 * null having cleared a cookie that is malformed, unknown, expired, stolen or of an inactive user.
 */
export async function restoreRememberedLogin<U, R>(core: Core<U, R>, auth: RequestFacts, jar: CookieJar): Promise<Resolution<U> | null> {
  const { options: o, store, events } = core;
  const name = o.cookieNames.remember;
  const token = parseToken(jar.get(name));
  if (!token) {
    jar.clear(name);
    return null;
  }
  const validator = randomToken(o.randomBytes, 32);
  const use = await store.useRememberToken(token.id, sha256(token.secret), sha256(validator), o.rememberGrace);
  if (!use) {
    jar.clear(name);
    return null;
  }
  if (use.status === 'stolen') {
    await endStolenLogins(core, auth, jar, use.userId);
    return null;
  }
  const user = await loadActiveUser(core, use.userId);
  if (user === null) {
    await store.deleteRememberToken(token.id);
    jar.clear(name);
    return null;
  }
  let session: Session | null = null;
  if (use.status === 'valid') {
    jar.set(name, `${token.id}.${validator}`, Math.floor((use.expiresAt - o.now()) / 1000));
    session = await startSession(core, auth, jar, use.userId, false, token.id, []); // proved nothing now: no methods (SEC-84)
  }
  // `grace`: a parallel request of the same browser; the one that rotated sets the cookies (SEC-39).
  events.emit('loadedFromCookie', { user, request: auth.request });
  return { user, session, via: 'remember' };
}

/**
 * For "log out other sessions" (SEC-32, SEC-40): ends every remember-me series of `userId` but
 * this browser's, and rotates this browser's validator in place, so that a copy of its cookie made
 * before is worthless while the series keeps its expiry (a rotation never extends it, SEC-36). It is
 * this browser's when the session was linked to `series` and the remember-me cookie names it;
 * otherwise every series ends. Returns the series the new session keeps, null for none, or
 * {@link STOLEN} when the cookie's validator was an old one (SEC-38): then every session and series of
 * the user has ended, this one's included.
 */
export async function keepRememberSeries<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  jar: CookieJar,
  userId: string,
  series: string | null,
): Promise<string | null | typeof STOLEN> {
  const { options: o, store } = core;
  const name = o.cookieNames.remember;
  const cookie = jar.get(name);
  const token = parseToken(cookie);
  const kept = series !== null && token?.id === series ? series : undefined;
  await store.deleteUserRememberTokens(userId, kept);
  if (kept === undefined || token === null) {
    if (cookie !== undefined) jar.clear(name);
    return null;
  }
  const validator = randomToken(o.randomBytes, 32);
  const use = await store.useRememberToken(kept, sha256(token.secret), sha256(validator), o.rememberGrace);
  if (use?.status === 'stolen') {
    await endStolenLogins(core, auth, jar, use.userId);
    return STOLEN;
  }
  if (use === null) {
    jar.clear(name);
    return null;
  }
  // `grace`: a parallel request of this browser rotated it a moment ago and sets the cookie (SEC-39).
  if (use.status === 'valid') jar.set(name, `${kept}.${validator}`, Math.floor((use.expiresAt - o.now()) / 1000));
  return kept;
}

/** An old validator came back after its grace window: someone else holds a copy (SEC-38). */
async function endStolenLogins<U, R>(core: Core<U, R>, auth: RequestFacts, jar: CookieJar, userId: string): Promise<void> {
  await endUserLogins(core.store, userId);
  clearLoginCookies(jar, core.options.cookieNames);
  core.events.emit('rememberTheft', { request: auth.request, userId });
}
