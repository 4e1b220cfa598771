/**
 * Who the user of a request is, found once and cached for the request: Flask-Login's `_load_user`.
 * The session cookie first, on the hot path of every authenticated request (cookie → store read →
 * sliding-expiry write at most once per {@link touchInterval} → `loadUser`, benchmarked by
 * bench/protected.ts), then the remember-me cookie (remember.ts), then the request loader.
 * Nothing is read until something asks: a request that never asks costs nothing (Flask-Login
 * tests 125-154, 885). Session protection (Flask-Login's, on the User-Agent fingerprint) is checked here,
 * on each read of a session.
 *
 * @module current-user
 */
import { clearLoginCookies, endSession } from './browser-session.ts';
import type { CookieJar } from './cookie-jar.ts';
import { NOBODY, type Core, type RequestFacts, type Resolution } from './core.ts';
import { safeEqual, sha256 } from './lib/encoding.ts';
import { parseToken } from './lib/tokens.ts';
import { loadActiveUser, loaderFailed } from './load-user.ts';
import { restoreRememberedLogin } from './remember.ts';
import type { Session } from './store.ts';

/**
 * How long a session may go without its sliding expiry being written, for an idle timeout: a tenth
 * of it, at most a minute (SEC-28: "write-throttled ≤1/min"), so most requests only read
 * whatever the timeout. The write lags a request by less than this interval, so a user whose
 * requests are less than 0.9 × idleTimeout apart is never logged out, and a session ends at most
 * idleTimeout after its last request. The manager computes it once, at construction.
 */
export function touchInterval(idleTimeout: number): number {
  return Math.min(60_000, Math.floor(idleTimeout / 10));
}

/** The user of one request, resolved lazily and once; the login lifecycle {@link settle}s it anew. */
export class CurrentUser<U, R> {
  readonly #core: Core<U, R>;
  readonly #auth: RequestFacts;
  readonly #jar: CookieJar;
  #resolution: Promise<Resolution<U>> | null = null;

  constructor(core: Core<U, R>, auth: RequestFacts, jar: CookieJar) {
    this.#core = core;
    this.#auth = auth;
    this.#jar = jar;
  }

  /** Who the request's user is, and through what; read from the cookies on the first call only. */
  resolve(): Promise<Resolution<U>> {
    this.#resolution ??= this.#load();
    return this.#resolution;
  }

  /** After a login, logout or a new session token: what the rest of this request reads. */
  settle(resolution: Resolution<U>): void {
    this.#resolution = Promise.resolve(resolution);
  }

  /** `RequestAuth.isFresh`: a session login, fresh, within `freshTimeout` of its authentication (SEC-35). */
  async isFresh(): Promise<boolean> {
    const { session, user } = await this.resolve();
    if (!session || !user || !session.fresh) return false;
    const limit = this.#core.options.freshTimeout;
    return limit === null || this.#core.options.now() - session.authenticatedAt < limit;
  }

  /** The session this browser holds, before a login replaces it: the resolved one, else the cookie's, without loading its user. */
  async held(): Promise<Session | null> {
    return this.#resolution ? (await this.#resolution).session : await this.#validSession();
  }

  /** Session cookie, then remember-me cookie, then request loader. */
  async #load(): Promise<Resolution<U>> {
    const { options: o, events } = this.#core;
    const request = this.#auth.request;
    this.#jar.markUsed();
    events.emit('accessed', { request });
    const fromSession = await this.#fromSession();
    if (fromSession !== null) return fromSession;
    if (this.#jar.get(o.cookieNames.remember) !== undefined) {
      const restored = await restoreRememberedLogin(this.#core, this.#auth, this.#jar);
      if (restored) return restored;
    }
    // An invalid remember cookie does not block the request loader (Flask-Login #901).
    if (o.requestLoader) {
      let user: U | null;
      try {
        user = (await o.requestLoader(request)) ?? null;
      } catch (error) {
        throw loaderFailed('requestLoader', error);
      }
      if (user !== null && o.isActive(user)) {
        events.emit('loadedFromRequest', { user, request });
        return { user, session: null, via: 'request' };
      }
    }
    return NOBODY;
  }

  /**
   * The login of the session cookie; null when there is none, so the remember-me cookie and the
   * request loader are tried; {@link NOBODY} when strong session protection ended it just now, so
   * that nothing else may log this request in.
   */
  async #fromSession(): Promise<Resolution<U> | null> {
    const { options: o, store, events } = this.#core;
    let session = await this.#validSession();
    if (!session) return null;
    const request = this.#auth.request;
    if (o.sessionProtection !== null && session.identifier !== this.#core.fingerprints.of(request)) {
      events.emit('sessionProtected', { request, userId: session.userId, mode: o.sessionProtection });
      if (o.sessionProtection === 'strong') {
        await endSession(store, session);
        clearLoginCookies(this.#jar, o.cookieNames);
        return NOBODY;
      }
      session = await store.updateSession(session.id, { fresh: false, identifier: this.#core.fingerprints.of(request) });
    } else if (o.now() - session.lastSeenAt >= this.#core.touchInterval) {
      session = await store.updateSession(session.id, { idleTimeout: o.idleTimeout });
    }
    if (!session) return null; // ended by a concurrent logout: never resurrected (SEC-34)
    const user = await loadActiveUser(this.#core, session.userId, session.id);
    return user === null ? null : { user, session, via: 'session' };
  }

  /** The session named by the cookie, if it exists and the secret's hash matches; else clears the cookie. */
  async #validSession(): Promise<Session | null> {
    const name = this.#core.options.cookieNames.session;
    const raw = this.#jar.get(name);
    if (raw === undefined) return null;
    const token = parseToken(raw);
    const session = token ? await this.#core.store.getSession(token.id) : null;
    if (!token || !session || !safeEqual(session.secretHash, sha256(token.secret))) {
      const reason = !token ? 'malformed' : !session ? 'unknown' : 'mismatch';
      this.#core.events.emit('sessionInvalid', { request: this.#auth.request, reason, sessionId: token?.id ?? null });
      this.#jar.clear(name);
      return null;
    }
    return session;
  }
}
