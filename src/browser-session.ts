/**
 * The write side of the session a browser holds: starting one under a new `id.secret` token whose
 * store row keeps only SHA-256 of the secret (SEC-19), and ending a login. A login
 * always starts a new session rather than upgrading the browser's old one, so a token planted
 * before the login is worth nothing after it (no fixation, SEC-23, ASVS 7.2.4). Ending a login,
 * whatever ends it (logout, a login replacing it, strong session protection, a revocation, a stolen
 * remember-me cookie), goes through {@link endSession} or {@link endUserLogins} here. Reading a
 * session, on every authenticated request, is current-user.ts's, on its benchmarked path.
 *
 * @module browser-session
 */
import type { CookieJar } from './cookie-jar.ts';
import type { Core, RequestFacts } from './core.ts';
import { sha256 } from './lib/encoding.ts';
import { parseToken, randomToken } from './lib/tokens.ts';
import type { ResolvedOptions } from './options.ts';
import type { Session, Store } from './store.ts';

/** The store calls that end a login. */
type EndingStore = Pick<Store, 'deleteSession' | 'deleteRememberToken'>;

/** User-Agent strings kept for the session list are cut to this many characters. */
const MAX_USER_AGENT = 512;

/**
 * Creates a session for `userId` in the store and sets its cookie on this response; `rememberSeries`
 * links it to the remember-me series it came from or started with, so that logout ends both.
 * `replaced` is the session of the same login that this one replaces under a new token (a
 * rotation): the new one keeps its authentication time and absolute expiry, so that no rotation
 * makes a login fresh again or extends it (SEC-29, SEC-35). Null for a login or a re-authentication.
 * `methods` say how the user authenticated (SEC-84): a rotation passes the replaced session's.
 */
export async function startSession<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  jar: CookieJar,
  userId: string,
  fresh: boolean,
  rememberSeries: string | null,
  methods: readonly string[],
  replaced: Session | null = null,
): Promise<Session> {
  const o = core.options;
  const id = randomToken(o.randomBytes, 16);
  const secret = randomToken(o.randomBytes, 32);
  const session = await core.store.createSession({
    id,
    secretHash: sha256(secret),
    userId,
    fresh,
    rememberSeries,
    identifier: o.sessionProtection === null ? null : core.fingerprints.of(auth.request),
    userAgent: auth.request.headers.get('user-agent')?.slice(0, MAX_USER_AGENT) ?? null,
    ipAddress: auth.clientIp,
    idleTimeout: o.idleTimeout,
    absoluteTimeout: o.absoluteTimeout,
    methods,
    ...(replaced && { authenticatedAt: replaced.authenticatedAt, absoluteExpiresAt: replaced.absoluteExpiresAt }),
  });
  // A browser-session cookie: no Max-Age, closing the browser drops it (the app's HTTP contract).
  jar.set(o.cookieNames.session, `${id}.${secret}`);
  core.events.emit('sessionCreated', { request: auth.request, userId, sessionId: id, fresh, remembered: rememberSeries !== null });
  return session;
}

/**
 * Ends a login in the store (SEC-23, SEC-31, SEC-40): deletes `session` with the remember-me series
 * linked to it, and the series named by the remember-me cookie value `rememberCookie`, when one is
 * given and it is another.
 */
export async function endSession(store: EndingStore, session: Session | null, rememberCookie?: string): Promise<void> {
  const linked = session?.rememberSeries ?? null;
  if (session) await store.deleteSession(session.id);
  if (linked) await store.deleteRememberToken(linked);
  const named = parseToken(rememberCookie);
  if (named && named.id !== linked) await store.deleteRememberToken(named.id);
}

/** Ends the session `sessionId` with its series, if it is one of `userId`'s; false otherwise. */
export async function endOwnedSession(store: Pick<Store, 'getSession'> & EndingStore, userId: string, sessionId: string): Promise<boolean> {
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 64) return false;
  const session = await store.getSession(sessionId);
  if (!session || session.userId !== userId) return false;
  await endSession(store, session);
  return true;
}

/** Ends every session (but `exceptSessionId`) and every remember-me series of a user (SEC-32, SEC-33). */
export async function endUserLogins(
  store: Pick<Store, 'deleteUserSessions' | 'deleteUserRememberTokens'>,
  userId: string,
  exceptSessionId?: string,
): Promise<{ sessions: number; rememberTokens: number }> {
  return { sessions: await store.deleteUserSessions(userId, exceptSessionId), rememberTokens: await store.deleteUserRememberTokens(userId) };
}

/** Clears this browser's session and remember-me cookies on the response, once its login has ended. */
export function clearLoginCookies(jar: CookieJar, names: ResolvedOptions<unknown, unknown>['cookieNames']): void {
  jar.clear(names.session);
  jar.clear(names.remember);
}
