/**
 * `latchkey/sqlite`: a {@link Store} and {@link CounterStore} (the login throttle's failure
 * counters) on Node's built-in `node:sqlite`, with no dependencies. It is for one host: several
 * processes may share the file (WAL journal, a busy timeout, write transactions that take the
 * lock up front; security.md ), several hosts may not (use PostgreSQL or Redis). The
 * schema is created on first use and versioned in a `<prefix>meta` table. Every driver failure
 * rejects with a coded {@link StoreUnavailableError} that keeps the driver's error as `cause`, so a
 * broken database reads as "try again" (503), never as "nobody is logged in". Misuse throws
 * `TypeError`.
 *
 * The clock: SQLite has no server of its own; `unixepoch()` in SQL reads the clock of the host
 * that runs the query. Every process on a SQLite file runs on that one host, so `Date.now()` here
 * *is* the database's clock, and reading it in JavaScript keeps one authoritative clock as R-08
 * asks, while letting tests inject `now`.
 *
 * @module sqlite/store
 */
import { DatabaseSync } from 'node:sqlite';
import type { SQLOutputValue } from 'node:sqlite';
import type { CounterState, CounterStore } from '../counter-store.ts';
import { StoreUnavailableError } from '../errors.ts';
import { safeEqual } from '../lib/encoding.ts';
import { ReadBatch } from '../lib/read-batch.ts';
import { adoptSqlite, openSqlite, requireSqliteFolder } from './connection.ts';
import { migrate, prepareStatements, transaction } from './schema.ts';
import type { Statements } from './schema.ts';
import { checkInheritedTimes, newSessionTimes, type NewRememberToken, type NewSession, type RememberUse, type Session, type SessionUpdate, type Store } from '../store.ts';
import { requireMs } from '../duration.ts';

/** Where the data lives: a file the store opens and owns, or a connection the app owns. */
export type SqliteStoreOptions = (
  | {
      /**
       * A file path, or `':memory:'` (one connection, gone on close: for tests). Its folder must
       * exist: the constructor throws `ERR_LATCHKEY_STORE_UNAVAILABLE` naming the path otherwise.
       * The file is opened on first use (`ping()` at start-up checks it) and created with mode 0600.
       */
      readonly path: string;
      readonly database?: never;
    }
  | {
      /**
       * The app's own connection, to keep users and sessions in one file. `close()` leaves it
       * open. The store does not change its journal mode or `synchronous`; it sets a busy timeout
       * only if the connection has none (SQLite's default is 0: fail at once when locked).
       * Do not leave it inside a transaction across an `await`: the store's writes would join it.
       */
      readonly database: DatabaseSync;
      readonly path?: never;
    }
) & {
  /** The store's clock, ms since the epoch. Default `Date.now` (the host's clock: see the module doc). */
  readonly now?: () => number;
  /** ms a statement waits for another process's lock before failing. Default 5000. */
  readonly busyTimeout?: number;
  /** ms between sweeps of expired rows; 0 disables them. Default 60 000. */
  readonly sweepInterval?: number;
  /** Prefix of the table names, letters, digits and `_`. Default `latchkey_`. */
  readonly tablePrefix?: string;
};

interface ResolvedOptions {
  readonly path: string | null;
  readonly database: DatabaseSync | null;
  readonly now: () => number;
  readonly busyTimeout: number;
  readonly sweepInterval: number;
  readonly tablePrefix: string;
}

const PREFIX = /^[a-z_][a-z0-9_]*$/i;
const MAX_TIMER = 2 ** 31 - 1; // setInterval and sqlite3_busy_timeout take a 32-bit int


function resolveOptions(options: SqliteStoreOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('SqliteStore: options are required');
  const { path, database } = options as { path?: unknown; database?: unknown };
  if ((path === undefined) === (database === undefined)) {
    throw new TypeError('SqliteStore: pass exactly one of `path` and `database`');
  }
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    throw new TypeError('SqliteStore: path must be a file path or ":memory:"');
  }
  if (database !== undefined && !(database instanceof DatabaseSync)) {
    throw new TypeError('SqliteStore: database must be a node:sqlite DatabaseSync');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('SqliteStore: now must be a function returning ms');
  const tablePrefix = options.tablePrefix ?? 'latchkey_';
  // The prefix is spliced into SQL as an identifier, so it is checked, never quoted.
  if (typeof tablePrefix !== 'string' || !PREFIX.test(tablePrefix) || tablePrefix.length > 64) {
    throw new TypeError(`SqliteStore: tablePrefix must match ${PREFIX} (at most 64 characters)`);
  }
  return Object.freeze({
    path: (path as string | undefined) ?? null,
    database: (database as DatabaseSync | undefined) ?? null,
    now,
    busyTimeout: requireMs('SqliteStore: busyTimeout', options.busyTimeout ?? 5_000, 0, MAX_TIMER),
    sweepInterval: requireMs('SqliteStore: sweepInterval', options.sweepInterval ?? 60_000, 0, MAX_TIMER),
    tablePrefix,
  });
}

type Row = Record<string, SQLOutputValue>;

function toSession(row: Row): Session {
  // The row is a new object of node:sqlite's, ours to finish: no copy on the hot path.
  (row as { fresh: unknown }).fresh = row.fresh === 1;
  return Object.freeze(row) as unknown as Session;
}

/** How many of the rows a `DELETE … RETURNING expires_at > :now AS live` removed were still live. */
function countLive(rows: Row[]): number {
  return rows.filter((row) => row.live === 1).length;
}

/**
 * Sessions, remember-me tokens and throttle counters in SQLite, for one host.
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
export class SqliteStore implements Store, CounterStore {
  readonly #options: ResolvedOptions;
  #db: DatabaseSync | null = null;
  #statements: Statements | null = null;
  #sweep: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  readonly #sessionReads = new ReadBatch<Session>((ids) => this.#readSessions(ids));

  constructor(options: SqliteStoreOptions) {
    this.#options = resolveOptions(options);
    if (this.#options.path !== null) requireSqliteFolder('SqliteStore', this.#options.path);
    if (this.#options.sweepInterval > 0) {
      // A failed sweep is retried at the next tick; requests report the failure themselves.
      this.#sweep = setInterval(() => this.deleteExpired().catch(() => {}), this.#options.sweepInterval);
      this.#sweep.unref();
    }
  }

  async createSession(session: NewSession): Promise<Session> {
    requireMs('idleTimeout', session.idleTimeout, 1);
    requireMs('absoluteTimeout', session.absoluteTimeout, 1);
    checkInheritedTimes(session);
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
      });
      return toSession(row as Row);
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
        const id = row.id as string;
        // Valid while now < expiresAt (SEC-29); an expired row goes as it is found (SEC-28).
        if (now < (row.expiresAt as number)) sessions.set(id, toSession(row));
        else st.deleteSessionIfExpired.run({ id, now });
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
      return row === undefined ? null : toSession(row);
    });
  }

  async deleteSession(id: string): Promise<boolean> {
    return this.#run('deleteSession', (st, now) => st.deleteSession.get({ id, now })?.live === 1);
  }

  async listUserSessions(userId: string): Promise<Session[]> {
    return this.#run('listUserSessions', (st, now) => st.listUserSessions.all({ userId, now }).map(toSession));
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
        if (row === undefined) return null;
        const userId = row.userId as string;
        const expiresAt = row.expiresAt as number;
        if (now >= expiresAt) {
          st.deleteToken.run({ series, now });
          return null;
        }
        if (safeEqual(row.validatorHash as string, validatorHash)) {
          st.rotateToken.run({ series, next: nextValidatorHash, now });
          return Object.freeze({ status: 'valid', userId, expiresAt });
        }
        const previous = row.previousHash;
        const inGrace = row.rotatedAt !== null && now < (row.rotatedAt as number) + grace;
        if (inGrace && typeof previous === 'string' && safeEqual(previous, validatorHash)) {
          return Object.freeze({ status: 'grace', userId, expiresAt });
        }
        st.deleteToken.run({ series, now }); // a replayed or forged validator: theft (SEC-38)
        return Object.freeze({ status: 'stolen', userId });
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

  /**
   * One `INSERT … ON CONFLICT DO UPDATE … RETURNING`: a single statement takes SQLite's write lock
   * before it reads, so increments from any number of processes on the file are never lost (R-05,
   * R-07) and each caller gets its own count back.
   */
  async recordFailure(key: string, ttl: number): Promise<CounterState> {
    requireMs('ttl', ttl, 1);
    return this.#run('recordFailure', (st, now) =>
      Object.freeze({ ...(st.recordFailure.get({ key, now, expiresAt: now + ttl }) as Row) } as unknown as CounterState),
    );
  }

  /** One write transaction (BEGIN IMMEDIATE): the read and the decrement or delete are one step across processes. */
  async forgiveFailure(key: string): Promise<CounterState | null> {
    return this.#run('forgiveFailure', (st, now) =>
      transaction(this.#db as DatabaseSync, (): CounterState | null => {
        const row = st.selectCounter.get({ key });
        if (row === undefined || now >= (row.expiresAt as number)) return null;
        if ((row.count as number) <= 1) {
          st.deleteCounter.run({ key });
          return null;
        }
        st.decrementCounter.run({ key });
        return Object.freeze({ count: (row.count as number) - 1, firstAt: row.firstAt, lastAt: row.lastAt } as CounterState);
      }),
    );
  }

  async getCounter(key: string): Promise<CounterState | null> {
    return this.#run('getCounter', (st, now) => {
      const row = st.selectCounter.get({ key });
      if (row === undefined) return null;
      if (now < (row.expiresAt as number)) {
        return Object.freeze({ count: row.count, firstAt: row.firstAt, lastAt: row.lastAt } as CounterState);
      }
      st.deleteCounterIfExpired.run({ key, now }); // valid while now < expiresAt; expired reads as absent
      return null;
    });
  }

  async clearCounter(key: string): Promise<void> {
    return this.#run('clearCounter', (st) => {
      st.deleteCounter.run({ key });
    });
  }

  /**
   * Deletes every expired session, remember token and throttle counter and returns how many rows
   * went. The
   * background sweep calls it every `sweepInterval` ms; call it yourself from a job if you
   * disable that.
   */
  async deleteExpired(): Promise<number> {
    return this.#run('deleteExpired', (st, now) => {
      const sessions = st.deleteExpiredSessions.run({ now }).changes;
      const tokens = st.deleteExpiredTokens.run({ now }).changes;
      const counters = st.deleteExpiredCounters.run({ now }).changes;
      return Number(sessions) + Number(tokens) + Number(counters);
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
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweep !== null) clearInterval(this.#sweep);
    const db = this.#db;
    this.#db = null;
    this.#statements = null;
    if (db !== null && this.#options.database === null && db.isOpen) {
      try {
        db.close();
      } catch (cause) {
        throw new StoreUnavailableError('SqliteStore: close failed', { cause });
      }
    }
  }

  /** Runs one operation with the store's time; driver errors become {@link StoreUnavailableError}. */
  async #run<T>(operation: string, work: (statements: Statements, now: number) => T): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError(`SqliteStore.${operation}(): the store is closed`);
    try {
      return work(this.#statements ?? this.#connect(), this.#options.now());
    } catch (cause) {
      if (cause instanceof TypeError || cause instanceof StoreUnavailableError) throw cause;
      throw new StoreUnavailableError(`SqliteStore.${operation}() failed`, { cause });
    }
  }

  /** Opens (or adopts) the connection, sets it up, migrates and prepares: once, on first use. */
  #connect(): Statements {
    const { path, busyTimeout, tablePrefix } = this.#options;
    const db = this.#options.database === null ? openSqlite('SqliteStore', path as string, busyTimeout) : adoptSqlite(this.#options.database, busyTimeout);
    try {
      migrate(db, tablePrefix);
      const statements = prepareStatements(db, tablePrefix);
      this.#db = db;
      this.#statements = statements;
      return statements;
    } catch (error) {
      // Leave nothing half-open: the next call tries again from scratch.
      if (this.#options.database === null) {
        try {
          db.close();
        } catch {
          // The first error is the one worth reporting.
        }
      }
      throw error;
    }
  }
}

