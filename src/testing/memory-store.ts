/**
 * **FOR TESTS ONLY.** An in-memory {@link Store}: Maps and per-user indexes, in one process.
 * It keeps nothing across a restart and shares nothing between processes, so behind more than one
 * app instance a logout on one would not reach the other, and a restart logs everyone out
 * (security.md R-07; express-session's MemoryStore "will leak memory … does not scale past a
 * single process"). Use `latchkey/sqlite`, PostgreSQL or Redis for anything that serves users.
 *
 * It also keeps the throttle's failure counters ({@link CounterStore}), per process only, so a
 * throttle on it does not limit attempts spread over several instances.
 *
 * It passes the same conformance suites as the real stores (`describeStoreConformance`,
 * `describeCounterStoreConformance`), so tests written against it exercise the real semantics: the
 * store's clock, inclusive expiry (SEC-29), no resurrection (SEC-34), atomic remember-me rotation
 * and counter increments. Each method runs to completion without an `await`, which is what
 * makes it atomic here.
 *
 * @module testing/memory-store
 */
import type { CounterState, CounterStore } from '../counter-store.ts';
import { StoreUnavailableError } from '../errors.ts';
import { safeEqual } from '../lib/encoding.ts';
import { requireMs } from '../duration.ts';
import { checkInheritedTimes, createdSession, newSessionTimes, type NewRememberToken, type NewSession, type RememberUse, type Session, type SessionUpdate, type Store } from '../store.ts';

/** The stored state of a remember-me series; never handed out. */
interface RememberRecord {
  readonly series: string;
  readonly userId: string;
  readonly expiresAt: number;
  validatorHash: string;
  previousHash: string | null;
  rotatedAt: number | null;
}

/** The stored state of a failure counter; handed out only as a frozen {@link CounterState} copy. */
interface CounterRecord {
  count: number;
  readonly firstAt: number;
  lastAt: number;
  expiresAt: number;
}


/**
 * **FOR TESTS ONLY: no persistence, one process.** An in-memory store that behaves like the real
 * ones, with an injectable clock. Stored sessions are frozen, so what a caller gets back cannot
 * change what is stored.
 *
 * @example
 * ```ts
 * import { MemoryStore } from 'latchkey/testing';
 *
 * let time = Date.UTC(2030, 0, 1);
 * const store = new MemoryStore({ now: () => time });
 * time += 31 * 60_000; // move the store's clock past an idle timeout
 * ```
 */
export class MemoryStore implements Store, CounterStore {
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();
  readonly #sessionsByUser = new Map<string, Set<string>>();
  readonly #tokens = new Map<string, RememberRecord>();
  readonly #tokensByUser = new Map<string, Set<string>>();
  readonly #counters = new Map<string, CounterRecord>();
  #closed = false;

  /** @param options.now the store's clock in ms since the epoch (default `Date.now`). */
  constructor(options: { now?: () => number } = {}) {
    const now = options.now ?? Date.now;
    if (typeof now !== 'function') throw new TypeError('MemoryStore: now must be a function returning ms');
    this.#now = now;
  }

  async createSession(session: NewSession): Promise<Session> {
    const now = this.#open();
    requireMs('idleTimeout', session.idleTimeout, 1);
    requireMs('absoluteTimeout', session.absoluteTimeout, 1);
    checkInheritedTimes(session);
    // A 128-bit random id never collides; a duplicate is a bug and must not overwrite a session.
    if (this.#sessions.has(session.id)) throw new StoreUnavailableError('MemoryStore: session id already exists');
    const stored = createdSession(session, newSessionTimes(session, now));
    this.#sessions.set(stored.id, stored);
    addToIndex(this.#sessionsByUser, stored.userId, stored.id);
    return stored;
  }

  async getSession(id: string): Promise<Session | null> {
    return this.#liveSession(id, this.#open());
  }

  async updateSession(id: string, update: SessionUpdate): Promise<Session | null> {
    const now = this.#open();
    if (update.idleTimeout !== undefined) requireMs('idleTimeout', update.idleTimeout, 1);
    const current = this.#liveSession(id, now);
    if (current === null) return null; // never recreate (SEC-34)
    let { lastSeenAt, expiresAt } = current;
    if (update.idleTimeout !== undefined) {
      // Monotonic and capped: never backwards, never past the absolute expiry.
      lastSeenAt = Math.max(lastSeenAt, now);
      expiresAt = Math.max(expiresAt, Math.min(now + update.idleTimeout, current.absoluteExpiresAt));
    }
    const updated: Session = Object.freeze({
      ...current,
      fresh: update.fresh ?? current.fresh,
      identifier: update.identifier !== undefined ? update.identifier : current.identifier,
      lastSeenAt,
      expiresAt,
    });
    this.#sessions.set(id, updated);
    return updated;
  }

  async deleteSession(id: string): Promise<boolean> {
    const now = this.#open();
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    this.#removeSession(session);
    return now < session.expiresAt; // an expired session had already ended
  }

  async listUserSessions(userId: string): Promise<Session[]> {
    const now = this.#open();
    const live: Session[] = [];
    for (const id of [...(this.#sessionsByUser.get(userId) ?? [])]) {
      const session = this.#liveSession(id, now);
      if (session !== null) live.push(session);
    }
    return live.sort((a, b) => b.createdAt - a.createdAt);
  }

  async deleteUserSessions(userId: string, exceptId?: string): Promise<number> {
    const now = this.#open();
    let count = 0;
    for (const id of [...(this.#sessionsByUser.get(userId) ?? [])]) {
      const session = this.#sessions.get(id);
      if (session === undefined || id === exceptId) continue;
      this.#removeSession(session);
      if (now < session.expiresAt) count += 1;
    }
    return count;
  }

  async createRememberToken(token: NewRememberToken): Promise<{ expiresAt: number }> {
    const now = this.#open();
    requireMs('lifetime', token.lifetime, 1);
    if (this.#tokens.has(token.series)) throw new StoreUnavailableError('MemoryStore: remember series already exists');
    const record: RememberRecord = {
      series: token.series,
      userId: token.userId,
      expiresAt: now + token.lifetime,
      validatorHash: token.validatorHash,
      previousHash: null,
      rotatedAt: null,
    };
    this.#tokens.set(record.series, record);
    addToIndex(this.#tokensByUser, record.userId, record.series);
    return { expiresAt: record.expiresAt };
  }

  async useRememberToken(
    series: string,
    validatorHash: string,
    nextValidatorHash: string,
    grace: number,
  ): Promise<RememberUse | null> {
    const now = this.#open();
    requireMs('grace', grace, 0);
    const record = this.#tokens.get(series);
    if (record === undefined) return null;
    const { userId, expiresAt } = record;
    if (now >= expiresAt) {
      this.#removeToken(record);
      return null;
    }
    if (safeEqual(record.validatorHash, validatorHash)) {
      record.previousHash = record.validatorHash;
      record.validatorHash = nextValidatorHash;
      record.rotatedAt = now;
      return Object.freeze({ status: 'valid', userId, expiresAt });
    }
    const inGrace = record.rotatedAt !== null && now < record.rotatedAt + grace;
    if (inGrace && record.previousHash !== null && safeEqual(record.previousHash, validatorHash)) {
      return Object.freeze({ status: 'grace', userId, expiresAt });
    }
    this.#removeToken(record); // a replayed or forged validator: theft (SEC-38)
    return Object.freeze({ status: 'stolen', userId });
  }

  async deleteRememberToken(series: string): Promise<boolean> {
    const now = this.#open();
    const record = this.#tokens.get(series);
    if (record === undefined) return false;
    this.#removeToken(record);
    return now < record.expiresAt;
  }

  async deleteUserRememberTokens(userId: string, exceptSeries?: string): Promise<number> {
    const now = this.#open();
    let count = 0;
    for (const series of [...(this.#tokensByUser.get(userId) ?? [])]) {
      const record = this.#tokens.get(series);
      if (record === undefined || series === exceptSeries) continue;
      this.#removeToken(record);
      if (now < record.expiresAt) count += 1;
    }
    return count;
  }

  async recordFailure(key: string, ttl: number): Promise<CounterState> {
    const now = this.#open();
    requireMs('ttl', ttl, 1);
    const record = this.#liveCounter(key, now);
    if (record === null) {
      const created: CounterRecord = { count: 1, firstAt: now, lastAt: now, expiresAt: now + ttl };
      this.#counters.set(key, created);
      return toCounterState(created);
    }
    // Sliding expiry that never moves backwards, nor lastAt, should the clock step back.
    record.count += 1;
    record.lastAt = Math.max(record.lastAt, now);
    record.expiresAt = Math.max(record.expiresAt, now + ttl);
    return toCounterState(record);
  }

  async forgiveFailure(key: string): Promise<CounterState | null> {
    const record = this.#liveCounter(key, this.#open());
    if (record === null) return null;
    record.count -= 1;
    if (record.count > 0) return toCounterState(record);
    this.#counters.delete(key);
    return null;
  }

  async getCounter(key: string): Promise<CounterState | null> {
    const record = this.#liveCounter(key, this.#open());
    return record === null ? null : toCounterState(record);
  }

  async clearCounter(key: string): Promise<void> {
    this.#open();
    this.#counters.delete(key);
  }

  async ping(): Promise<void> {
    this.#open();
  }

  /** Drops everything; later calls reject with {@link StoreUnavailableError}, like a dead backend. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sessions.clear();
    this.#sessionsByUser.clear();
    this.#tokens.clear();
    this.#tokensByUser.clear();
    this.#counters.clear();
  }

  /** The store's time, or a rejection once closed. */
  #open(): number {
    if (this.#closed) throw new StoreUnavailableError('MemoryStore is closed');
    return this.#now();
  }

  /** The session while `now < expiresAt` (SEC-29); an expired one is deleted as it is found. */
  #liveSession(id: string, now: number): Session | null {
    const session = this.#sessions.get(id);
    if (session === undefined) return null;
    if (now < session.expiresAt) return session;
    this.#removeSession(session);
    return null;
  }

  /** The counter while `now < expiresAt`; an expired one is deleted as it is found. */
  #liveCounter(key: string, now: number): CounterRecord | null {
    const record = this.#counters.get(key);
    if (record === undefined) return null;
    if (now < record.expiresAt) return record;
    this.#counters.delete(key);
    return null;
  }

  #removeSession(session: Session): void {
    this.#sessions.delete(session.id);
    removeFromIndex(this.#sessionsByUser, session.userId, session.id);
  }

  #removeToken(record: RememberRecord): void {
    this.#tokens.delete(record.series);
    removeFromIndex(this.#tokensByUser, record.userId, record.series);
  }
}

function toCounterState(record: CounterRecord): CounterState {
  return Object.freeze({ count: record.count, firstAt: record.firstAt, lastAt: record.lastAt });
}

function addToIndex(index: Map<string, Set<string>>, userId: string, key: string): void {
  const keys = index.get(userId);
  if (keys === undefined) index.set(userId, new Set([key]));
  else keys.add(key);
}

function removeFromIndex(index: Map<string, Set<string>>, userId: string, key: string): void {
  const keys = index.get(userId);
  keys?.delete(key);
  if (keys?.size === 0) index.delete(userId);
}
