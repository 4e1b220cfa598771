/**
 * The write side of the session a browser holds: starting one under a new `id.secret` token whose
 * store row keeps only SHA-256 of the secret (SEC-19, STYLE.md §4), and ending the records of the
 * login it replaces or logs out. A login always starts a new session rather than upgrading the
 * browser's old one, so a token planted before the login is worth nothing after it (no fixation,
 * SEC-23, ASVS 7.2.4). Reading a session, on every authenticated request, stays in
 * {@link RequestAuth}, on its benchmarked path.
 *
 * @module browser-session
 */
import type { Core } from './core.ts';
import { sha256 } from './lib/encoding.ts';
import { parseToken, randomToken } from './lib/tokens.ts';
import type { RequestLike } from './request.ts';
import type { Session, Store } from './store.ts';

/** The store calls that end a login. */
type EndingStore = Pick<Store, 'deleteSession' | 'deleteRememberToken'>;

/** User-Agent strings kept for the session list are cut to this many characters. */
const MAX_USER_AGENT = 512;

/** What starting a session does through the {@link RequestAuth} of the request. Internal. */
export interface SessionRequest {
  readonly request: RequestLike;
  /** {@link RequestAuth.clientIp}. */
  clientIp(): string | null;
  /** The session-protection fingerprint of this request (its User-Agent's hash). */
  identifier(): string;
  /** Decides a `Set-Cookie` for this response. */
  setCookie(base: string, value: string): void;
}

/**
 * Creates a session for `userId` in the store and sets its cookie on this response; `rememberSeries`
 * links it to the remember-me series it came from or started with, so that logout ends both.
 * `replaced` is the session of the same login that this one replaces under a new token (a
 * rotation): the new one keeps its authentication time and absolute expiry, so that no rotation
 * makes a login fresh again or extends it (SEC-29, SEC-35). Null for a login or a re-authentication.
 */
export async function startSession<U, R>(
  core: Core<U, R>,
  auth: SessionRequest,
  userId: string,
  fresh: boolean,
  rememberSeries: string | null,
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
    identifier: o.sessionProtection === null ? null : auth.identifier(),
    userAgent: auth.request.headers.get('user-agent')?.slice(0, MAX_USER_AGENT) ?? null,
    ipAddress: auth.clientIp(),
    idleTimeout: o.idleTimeout,
    absoluteTimeout: o.absoluteTimeout,
    ...(replaced && { authenticatedAt: replaced.authenticatedAt, absoluteExpiresAt: replaced.absoluteExpiresAt }),
  });
  // A browser-session cookie: no Max-Age, closing the browser drops it (app-contract.md).
  auth.setCookie(o.cookieNames.session, `${id}.${secret}`);
  core.events.emit('sessionCreated', { request: auth.request, userId, sessionId: id, fresh, remembered: rememberSeries !== null });
  return session;
}

/**
 * Before a login replaces it (SEC-23): deletes the browser's `session` with its remember-me series,
 * and the series named by its remember-me cookie `rememberCookie` when that is another one.
 */
export async function endReplacedLogin(store: EndingStore, session: Session | null, rememberCookie: string | undefined): Promise<void> {
  if (session) {
    await store.deleteSession(session.id);
    if (session.rememberSeries) await store.deleteRememberToken(session.rememberSeries);
  }
  const remembered = parseToken(rememberCookie);
  if (remembered && remembered.id !== session?.rememberSeries) await store.deleteRememberToken(remembered.id);
}

/**
 * At logout (SEC-31, SEC-40): deletes `session` and its remember-me series, and the series named by
 * the remember-me cookie `rememberCookie` when the login was restored from it (`fromRemember`).
 */
export async function endLogin(store: EndingStore, session: Session | null, rememberCookie: string | undefined, fromRemember: boolean): Promise<void> {
  if (session) await store.deleteSession(session.id);
  const series = new Set<string>();
  if (session?.rememberSeries) series.add(session.rememberSeries);
  const remembered = parseToken(rememberCookie);
  if (remembered && fromRemember) series.add(remembered.id);
  for (const id of series) await store.deleteRememberToken(id);
}
