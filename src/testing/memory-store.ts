/**
 * **FOR TESTS ONLY.** An in-memory {@link Store}: Maps and per-user indexes, in one process.
 * It keeps nothing across a restart and shares nothing between processes, so behind more than one
 * app instance a logout on one would not reach the other, and a restart logs everyone out
 * (R-07; express-session's MemoryStore "will leak memory … does not scale past a
 * single process"). Use `latchkey/sqlite`, PostgreSQL or Redis for anything that serves users.
 *
 * It also keeps the throttle's failure counters ({@link CounterStore}), per process only, so a
 * throttle on it does not limit attempts spread over several instances, and one-time tokens
 * ({@link TokenStore}: reset, verification and email-change links).
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
import { requireClock, StoreKit } from '../lib/store-kit.ts';
import { requireMs } from '../duration.ts';
import { decideRememberUse, rememberUseOf } from '../remember-decision.ts';
import { MemoryCounters } from './memory-counters.ts';
import { MemoryTokens } from './memory-tokens.ts';
import type { NewOneTimeToken, OneTimeToken, TokenStore } from '../token-store.ts';
import { checkNewSession, createdSession, newSessionTimes, type NewRememberToken, type NewSession, type RememberUse, type Session, type SessionUpdate, type Store } from '../store.ts';

/** The stored state of a remember-me series; never handed out. */
interface RememberRecord {
  readonly series: string;
  readonly userId: string;
  readonly expiresAt: number;
  validatorHash: string;
  previousHash: string | null;
  rotatedAt: number | null;
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
export class MemoryStore implements Store, CounterStore, TokenStore {
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();
  readonly #sessionsByUser = new Map<string, Set<string>>();
  readonly #tokens = new Map<string, RememberRecord>();
  readonly #tokensByUser = new Map<string, Set<string>>();
  readonly #counters = new MemoryCounters();
  readonly #oneTimeTokens = new MemoryTokens();
  readonly #kit = new StoreKit('MemoryStore');

  /** @param options.now the store's clock in ms since the epoch (default `Date.now`). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = requireClock('MemoryStore', options.now) ?? Date.now;
  }

  async createSession(session: NewSession): Promise<Session> {
    const now = this.#open('createSession');
    requireMs('idleTimeout', session.idleTimeout, 1);
    requireMs('absoluteTimeout', session.absoluteTimeout, 1);
    checkNewSession(session);
    // A 128-bit random id never collides; a duplicate is a bug and must not overwrite a session.
    if (this.#sessions.has(session.id)) throw new StoreUnavailableError('MemoryStore: session id already exists');
    const stored = createdSession(session, newSessionTimes(session, now));
    this.#sessions.set(stored.id, stored);
    addToIndex(this.#sessionsByUser, stored.userId, stored.id);
    return stored;
  }

  async getSession(id: string): Promise<Session | null> {
    return this.#liveSession(id, this.#open('getSession'));
  }

  async updateSession(id: string, update: SessionUpdate): Promise<Session | null> {
    const now = this.#open('updateSession');
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
    const now = this.#open('deleteSession');
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    this.#removeSession(session);
    return now < session.expiresAt; // an expired session had already ended
  }

  async listUserSessions(userId: string): Promise<Session[]> {
    const now = this.#open('listUserSessions');
    const live: Session[] = [];
    for (const id of [...(this.#sessionsByUser.get(userId) ?? [])]) {
      const session = this.#liveSession(id, now);
      if (session !== null) live.push(session);
    }
    return live.sort((a, b) => b.createdAt - a.createdAt);
  }

  async deleteUserSessions(userId: string, exceptId?: string): Promise<number> {
    const now = this.#open('deleteUserSessions');
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
    const now = this.#open('createRememberToken');
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
    const now = this.#open('useRememberToken');
    requireMs('grace', grace, 0);
    const record = this.#tokens.get(series) ?? null;
    const decision = decideRememberUse(record, validatorHash, now, grace);
    if (record === null) return null;
    if (decision === 'rotate') {
      record.previousHash = record.validatorHash;
      record.validatorHash = nextValidatorHash;
      record.rotatedAt = now;
    } else if (decision === 'expired' || decision === 'theft') {
      this.#removeToken(record); // ended, or a replayed or forged validator (SEC-38)
    }
    return rememberUseOf(decision, record.userId, record.expiresAt);
  }

  async deleteRememberToken(series: string): Promise<boolean> {
    const now = this.#open('deleteRememberToken');
    const record = this.#tokens.get(series);
    if (record === undefined) return false;
    this.#removeToken(record);
    return now < record.expiresAt;
  }

  async deleteUserRememberTokens(userId: string, exceptSeries?: string): Promise<number> {
    const now = this.#open('deleteUserRememberTokens');
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
    const now = this.#open('recordFailure');
    requireMs('ttl', ttl, 1);
    return this.#counters.record(key, ttl, now);
  }

  async forgiveFailure(key: string): Promise<CounterState | null> {
    return this.#counters.forgive(key, this.#open('forgiveFailure'));
  }

  async getCounter(key: string): Promise<CounterState | null> {
    return this.#counters.get(key, this.#open('getCounter'));
  }

  async clearCounter(key: string): Promise<void> {
    this.#open('clearCounter');
    this.#counters.delete(key);
  }

  async createToken(token: NewOneTimeToken): Promise<OneTimeToken> {
    return this.#oneTimeTokens.create(token, this.#open('createToken'));
  }

  async findToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    return this.#oneTimeTokens.find(hash, purpose, this.#open('findToken'));
  }

  async consumeToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    return this.#oneTimeTokens.consume(hash, purpose, this.#open('consumeToken'));
  }

  async deleteUserTokens(userId: string, purpose?: string): Promise<number> {
    return this.#oneTimeTokens.deleteUser(userId, purpose, this.#open('deleteUserTokens'));
  }

  async ping(): Promise<void> {
    this.#open('ping');
  }

  /** Drops everything; later calls reject with {@link StoreUnavailableError}, like a dead backend. */
  async close(): Promise<void> {
    this.#kit.close();
    this.#sessions.clear();
    this.#sessionsByUser.clear();
    this.#tokens.clear();
    this.#tokensByUser.clear();
    this.#counters.clear();
    this.#oneTimeTokens.clear();
  }

  /** The store's time, or a rejection once closed. */
  #open(operation: string): number {
    this.#kit.checkOpen(operation);
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

  #removeSession(session: Session): void {
    this.#sessions.delete(session.id);
    removeFromIndex(this.#sessionsByUser, session.userId, session.id);
  }

  #removeToken(record: RememberRecord): void {
    this.#tokens.delete(record.series);
    removeFromIndex(this.#tokensByUser, record.userId, record.series);
  }
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
