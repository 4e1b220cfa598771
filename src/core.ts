/**
 * What the modules of the request path share, at the floor below them: the manager's per-instance
 * state that every request reads ({@link Core}), the request facts the helpers read of the
 * request they act for ({@link RequestFacts}), and who a request's user is ({@link Resolution}).
 * Types only, and the one empty resolution: the manager builds a Core once; the request-auth facade
 * and its helpers (current user, login lifecycle, remember-me, CSRF, login redirect) consume it,
 * so none of them imports another upward to reach these.
 *
 * @module core
 */
import type { CookieJar, JarSettings } from './cookie-jar.ts';
import type { LoginEventEmitter } from './events.ts';
import type { Fingerprints } from './fingerprint.ts';
import type { ResolvedOptions } from './options.ts';
import type { RequestLike } from './request.ts';
import type { SessionCache } from './session-cache.ts';
import type { Session, Store } from './store.ts';
import type { TokenStore } from './token-store.ts';

/** What a request context shares with its manager, built once per manager and frozen. Internal. */
export interface Core<U, R> {
  readonly options: ResolvedOptions<U, R>;
  /** ms a session may go without its sliding expiry being written: `touchInterval` of the idle timeout. */
  readonly touchInterval: number;
  /** The store behind its deadline guard (lib/guarded-store.ts) and, with `sessionCache`, the cache. */
  readonly store: Required<Omit<Store, 'close'>>;
  /** The per-instance session cache, when `sessionCache` is set; `store` already reads through it. */
  readonly sessionCache: SessionCache<U> | null;
  /** The store's one-time tokens behind the deadline guard (the pending second step), or null when it has none. */
  readonly tokens: TokenStore | null;
  readonly events: LoginEventEmitter<U>;
  /** This manager's session-protection fingerprints (never shared with another manager). */
  readonly fingerprints: Fingerprints;
  /** What every request's {@link CookieJar} reads and writes. */
  readonly cookies: JarSettings;
  readonly anonymousUser: () => R;
}

/** What the helpers read of the request they act for; the request-auth facade is one. Internal. */
export interface RequestFacts {
  readonly request: RequestLike;
  /** The origin the browser sees, or null when the request's URL does not parse. */
  readonly origin: string | null;
  /** The client's IP, through trusted proxies (proxy.ts), else the socket's. */
  readonly clientIp: string | null;
}

/** How the user of a request was found. */
export type Via = 'session' | 'remember' | 'request' | null;

/** Who the request's user is, and through what; computed once per request. Internal. */
export interface Resolution<U> {
  readonly user: U | null;
  readonly session: Session | null;
  readonly via: Via;
}

/** Nobody is logged in. */
export const NOBODY: Resolution<never> = Object.freeze({ user: null, session: null, via: null });

/** The id to store for `user` (the `getUserId` option), checked: a non-empty string of at most 255 characters. */
export function userIdOf<U>(options: Pick<ResolvedOptions<U, unknown>, 'getUserId'>, user: U): string {
  const userId = options.getUserId(user);
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 255) {
    throw new TypeError('getUserId must return a non-empty string of at most 255 characters');
  }
  return userId;
}
