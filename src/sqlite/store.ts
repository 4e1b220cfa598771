/**
 * `latchkey/sqlite`: a {@link Store}, {@link CounterStore} (the login throttle's failure
 * counters) and {@link TokenStore} (one-time links) on Node's built-in `node:sqlite`, with no
 * dependencies. It is for one host: several processes may share the file (WAL journal, a busy
 * timeout, write transactions that take the lock up front; ), several hosts
 * may not (use PostgreSQL or Redis). The schema is created on first use and versioned in a
 * `<prefix>meta` table. Every driver failure rejects with a coded {@link StoreUnavailableError}
 * that keeps the driver's error as `cause`, so a broken database reads as "try again" (503), never
 * as "nobody is logged in". Misuse throws `TypeError`.
 *
 * The clock: SQLite has no server of its own; `unixepoch()` in SQL reads the clock of the host
 * that runs the query. Every process on a SQLite file runs on that one host, so `Date.now()` here
 * *is* the database's clock, and reading it in JavaScript keeps one authoritative clock as R-08
 * asks, while letting tests inject `now`.
 *
 * @module sqlite/store
 */
import type { DatabaseSync, SQLOutputValue } from 'node:sqlite';
import type { CounterState, CounterStore } from '../counter-store.ts';
import { requireMs } from '../duration.ts';
import { ReadBatch } from '../lib/read-batch.ts';
import { startSweep, StoreKit } from '../lib/store-kit.ts';
import { decideRememberUse, rememberUseOf, type RememberSeriesState } from '../remember-decision.ts';
import type { NewOneTimeToken, OneTimeToken, TokenStore } from '../token-store.ts';
import { checkNewSession, newSessionTimes, type NewRememberToken, type NewSession, type RememberUse, type Session, type SessionUpdate, type Store } from '../store.ts';
import { connectSqlite } from './connection.ts';
import { forgiveFailure, getCounter, recordFailure } from './counters.ts';
import { migrate, prepareStatements, sessionFromValues, transaction } from './schema.ts';
import type { Statements } from './schema.ts';
import { consumeToken, createToken, deleteUserTokens, findToken } from './tokens.ts';
import { resolveSqliteOptions, type ResolvedSqliteOptions, type SqliteStoreOptions } from './store-options.ts';

type Row = Record<string, SQLOutputValue>;

/** A remember-me row under the names of {@link RememberSeriesState} (sqlite/schema's `selectToken`). */
interface RememberRow extends RememberSeriesState {
  readonly userId: string;
}

/** How many of the rows a `DELETE … RETURNING expires_at > :now AS live` removed were still live. */
function countLive(rows: Row[]): number {
  return rows.filter((row) => row.live === 1).length;
}

/**
 * Sessions, remember-me tokens, throttle counters and one-time tokens in SQLite, for one host.
 *
 * @example
 * ```ts
 * import { SqliteStore } from 'latchkey/sqlite';
 *
 * const store = new SqliteStore({ path: './data/app.db' });
 * // or share the app's connection: new SqliteStore({ database: db })
 * process.on('SIGTERM', () => store.close());
 * ```
 */
export class SqliteStore implements Store, CounterStore, TokenStore {
  readonly #options: ResolvedSqliteOptions;
  readonly #kit = new StoreKit('SqliteStore');
  readonly #stopSweep: () => void;
  #db: DatabaseSync | null = null;
  #statements: Statements | null = null;
  readonly #sessionReads = new ReadBatch<Session>((ids) => this.#readSessions(ids));

  constructor(options: SqliteStoreOptions) {
    this.#options = resolveSqliteOptions(options);
    this.#stopSweep = startSweep(this.#options.sweepInterval, () => this.deleteExpired());
  }

  async createSession(session: NewSession): Promise<Session> {
    requireMs('idleTimeout', session.idleTimeout, 1);
    requireMs('absoluteTimeout', session.absoluteTimeout, 1);
    checkNewSession(session);
    return this.#run('createSession', (st, now) => {
      const times = newSessionTimes(session, now);
      const row = st.insertSession.get({
        id: session.id,
        secretHash: session.secretHash,
        userId: session.userId,
        fresh: session.fresh ? 1 : 0,
        rememberSeries: session.rememberSeries,
        identifier: session.identifier,
        userAgent: session.userAgent,
        ipAddress: session.ipAddress,
        now,
        authenticatedAt: times.authenticatedAt,
        expiresAt: times.expiresAt,
        absoluteExpiresAt: times.absoluteExpiresAt,
        methods: JSON.stringify(session.methods ?? []),
      });
      return sessionFromValues(row as object);
    });
  }

  /**
   * Read with the other session reads of this turn of the event loop, in one statement
   * (lib/read-batch): one read transaction instead of one per request.
   */
  getSession(id: string): Promise<Session | null> {
    if (typeof id !== 'string') return Promise.reject(new TypeError('SqliteStore.getSession: id must be a string'));
    return this.#sessionReads.load(id);
  }

  #readSessions(ids: readonly string[]): Promise<Map<string, Session>> {
    return this.#run('getSession', (st, now) => {
      const sessions = new Map<string, Session>();
      for (const row of st.selectSessions.all({ ids: JSON.stringify(ids) })) {
        const session = sessionFromValues(row);
        // Valid while now < expiresAt (SEC-29); an expired row goes as it is found (SEC-28).
        if (now < session.expiresAt) sessions.set(session.id, session);
        else st.deleteSessionIfExpired.run({ id: session.id, now });
      }
      return sessions;
    });
  }

  async updateSession(id: string, update: SessionUpdate): Promise<Session | null> {
    if (update.idleTimeout !== undefined) requireMs('idleTimeout', update.idleTimeout, 1);
    return this.#run('updateSession', (st, now) => {
      const row = st.updateSession.get({
        id,
        now,
        idleTimeout: update.idleTimeout ?? null,
        fresh: update.fresh === undefined ? null : update.fresh ? 1 : 0,
        setIdentifier: update.identifier === undefined ? 0 : 1,
        identifier: update.identifier ?? null,
      });
      return row === undefined ? null : sessionFromValues(row);
    });
  }

  async deleteSession(id: string): Promise<boolean> {
    return this.#run('deleteSession', (st, now) => st.deleteSession.get({ id, now })?.live === 1);
  }

  async listUserSessions(userId: string): Promise<Session[]> {
    return this.#run('listUserSessions', (st, now) => st.listUserSessions.all({ userId, now }).map(sessionFromValues));
  }

  async deleteUserSessions(userId: string, exceptId?: string): Promise<number> {
    return this.#run('deleteUserSessions', (st, now) =>
      countLive(st.deleteUserSessions.all({ userId, exceptId: exceptId ?? null, now })),
    );
  }

  async createRememberToken(token: NewRememberToken): Promise<{ expiresAt: number }> {
    requireMs('lifetime', token.lifetime, 1);
    return this.#run('createRememberToken', (st, now) => {
      const expiresAt = now + token.lifetime;
      st.insertToken.run({ series: token.series, validatorHash: token.validatorHash, userId: token.userId, now, expiresAt });
      return { expiresAt };
    });
  }

  /**
   * One `BEGIN IMMEDIATE` transaction: the write lock is held from the read to the rotation, so two
   * racing requests, in this process or another, never both see the current validator. The
   * comparison runs in JavaScript, in constant time. A remember cookie is presented once per
   * browser session, so the lock is cheap.
   */
  async useRememberToken(
    series: string,
    validatorHash: string,
    nextValidatorHash: string,
    grace: number,
  ): Promise<RememberUse | null> {
    requireMs('grace', grace, 0);
    return this.#run('useRememberToken', (st, now) =>
      transaction(this.#db as DatabaseSync, (): RememberUse | null => {
        const row = st.selectToken.get({ series });
        const state = row === undefined ? null : (row as unknown as RememberRow);
        const decision = decideRememberUse(state, validatorHash, now, grace);
        if (state === null) return null;
        if (decision === 'rotate') st.rotateToken.run({ series, next: nextValidatorHash, now });
        else if (decision === 'expired' || decision === 'theft') st.deleteToken.run({ series, now }); // theft: SEC-38
        return rememberUseOf(decision, state.userId, state.expiresAt);
      }),
    );
  }

  async deleteRememberToken(series: string): Promise<boolean> {
    return this.#run('deleteRememberToken', (st, now) => st.deleteToken.get({ series, now })?.live === 1);
  }

  async deleteUserRememberTokens(userId: string, exceptSeries?: string): Promise<number> {
    return this.#run('deleteUserRememberTokens', (st, now) =>
      countLive(st.deleteUserTokens.all({ userId, exceptSeries: exceptSeries ?? null, now })),
    );
  }

  /** Never loses a failure counted by another process on the file: sqlite/counters. */
  async recordFailure(key: string, ttl: number): Promise<CounterState> {
    requireMs('ttl', ttl, 1);
    return this.#run('recordFailure', (st, now) => recordFailure(st, key, ttl, now));
  }

  async forgiveFailure(key: string): Promise<CounterState | null> {
    return this.#run('forgiveFailure', (st, now) => forgiveFailure(this.#db as DatabaseSync, st, key, now));
  }

  async getCounter(key: string): Promise<CounterState | null> {
    return this.#run('getCounter', (st, now) => getCounter(st, key, now));
  }

  async clearCounter(key: string): Promise<void> {
    return this.#run('clearCounter', (st) => {
      st.deleteCounter.run({ key });
    });
  }

  /** One-time tokens (reset, verification and email-change links): sqlite/tokens. */
  async createToken(token: NewOneTimeToken): Promise<OneTimeToken> {
    return this.#run('createToken', createToken(token));
  }

  async findToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    return this.#run('findToken', findToken(hash, purpose));
  }

  async consumeToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    return this.#run('consumeToken', consumeToken(hash, purpose));
  }

  async deleteUserTokens(userId: string, purpose?: string): Promise<number> {
    return this.#run('deleteUserTokens', deleteUserTokens(userId, purpose));
  }

  /**
   * Deletes every expired session, remember token, throttle counter and one-time token and returns
   * how many rows went. The background sweep calls it every `sweepInterval` ms; call it
   * yourself from a job if you disable that.
   */
  async deleteExpired(): Promise<number> {
    return this.#run('deleteExpired', (st, now) => {
      const statements = [st.deleteExpiredSessions, st.deleteExpiredTokens, st.deleteExpiredCounters, st.deleteExpiredOneTimeTokens];
      return statements.reduce((sum, statement) => sum + Number(statement.run({ now }).changes), 0);
    });
  }

  /** Resolves when the database answers `SELECT 1` (and the schema is in place). */
  async ping(): Promise<void> {
    return this.#run('ping', (st) => {
      st.ping.get();
    });
  }

  /** Stops the sweep and closes the file the store opened (never an app's `database`). Idempotent. */
  async close(): Promise<void> {
    if (!this.#kit.close()) return;
    this.#stopSweep();
    const db = this.#db;
    this.#db = null;
    this.#statements = null;
    if (db !== null && this.#options.source.database === null && db.isOpen) {
      try {
        db.close();
      } catch (cause) {
        throw this.#kit.failure('close', cause);
      }
    }
  }

  /** Runs one operation with the store's time; failures become coded errors (lib/store-kit). */
  async #run<T>(operation: string, work: (statements: Statements, now: number) => T): Promise<T> {
    this.#kit.checkOpen(operation);
    try {
      return work(this.#statements ?? this.#connect(), this.#options.now());
    } catch (cause) {
      throw this.#kit.failure(operation, cause);
    }
  }

  /** Opens (or adopts) the connection, migrates and prepares: once, on first use. */
  #connect(): Statements {
    const { source, busyTimeout, tablePrefix } = this.#options;
    const { db, prepared } = connectSqlite('SqliteStore', source, busyTimeout, (db) => {
      migrate(db, tablePrefix);
      return prepareStatements(db, tablePrefix);
    });
    this.#db = db;
    this.#statements = prepared;
    return prepared;
  }
}
