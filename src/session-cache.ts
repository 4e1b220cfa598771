/**
 * The opt-in per-instance session cache (`sessionCache: { ttl }`): a session the store returned,
 * with the user loaded for it, is reused by this process for up to `ttl` instead of reading the
 * store and calling `loadUser` on every request.
 *
 * What it changes, and why the bound is 5 s: R-07 allows "no per-instance cache, or
 * cache TTL documented ≤5 s". On this instance nothing lags: every write latchkey makes through
 * it (logout, revocation, rotation, sliding expiry, "log out everywhere") drops the entries it
 * touches before the store call returns. On other instances, and for rows changed behind
 * latchkey's back (an admin's SQL, a deleted user), a session or user stays accepted here for at
 * most `ttl` after the change; so does a session that reached its idle or absolute expiry. The
 * secret is still compared on every request (constant time), so a cached id never admits a
 * forged cookie. Off by default: immediate revocation everywhere is the safe default.
 *
 * @module session-cache
 */
import { dropAround, ExpiringCache, type ReadTicket } from './lib/expiring-cache.ts';
import type { guardStore } from './lib/guarded-store.ts';
import type { Session, SessionUpdate } from './store.ts';

export type { ReadTicket } from './lib/expiring-cache.ts';

type GuardedStore = ReturnType<typeof guardStore>;

interface Entry<U> {
  readonly session: Session;
  /** The user `loadUser` gave for this session; `undefined` until it is loaded once. */
  user: U | null | undefined;
}

/** Session id → (session, user), on {@link ExpiringCache} (ttl from the read, bounded, epoch-guarded). */
export class SessionCache<U> {
  readonly #cache: ExpiringCache<Entry<U>>;

  constructor(ttl: number, maxEntries: number, now: () => number) {
    this.#cache = new ExpiringCache(ttl, maxEntries, now);
  }

  /** The cached entry of a session id, if it is still within its ttl. */
  get(id: string): Entry<U> | undefined {
    return this.#cache.get(id);
  }

  /** What to pass to {@link put} for a read that starts now. */
  begin(): ReadTicket {
    return this.#cache.begin();
  }

  /** Caches what a read begun with `ticket` returned, unless something was invalidated since. */
  put(session: Session, ticket: ReadTicket): void {
    this.#cache.put(session.id, { session, user: undefined }, ticket);
  }

  /** Drops one session. */
  drop(id: string): void {
    this.#cache.drop(id);
  }

  /** Drops every session of a user (a scan: revoking all of a user's sessions is rare). */
  dropUser(userId: string): void {
    this.#cache.dropWhere((entry) => entry.session.userId === userId);
  }

  /** How many entries are held (for tests). */
  get size(): number {
    return this.#cache.size;
  }
}

/**
 * The guarded store with the cache in front of `getSession`, and every call that changes or
 * ends sessions dropping what it touches first. Remember-me tokens are never cached: each use
 * rotates them.
 */
export function cacheStore<U>(store: GuardedStore, cache: SessionCache<U>): GuardedStore {
  return Object.freeze({
    ...store,
    getSession: async (id: string) => {
      const hit = cache.get(id);
      if (hit !== undefined) return hit.session;
      const ticket = cache.begin();
      const session = await store.getSession(id);
      if (session !== null) cache.put(session, ticket);
      return session;
    },
    updateSession: (id: string, update: SessionUpdate) => dropAround(() => cache.drop(id), () => store.updateSession(id, update)),
    deleteSession: (id: string) => dropAround(() => cache.drop(id), () => store.deleteSession(id)),
    deleteUserSessions: (userId: string, exceptId?: string) =>
      dropAround(() => cache.dropUser(userId), () => store.deleteUserSessions(userId, exceptId)),
  } satisfies GuardedStore);
}
