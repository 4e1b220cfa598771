/**
 * `latchkey/postgres`: a {@link Store}, {@link CounterStore} (the login throttle's failure
 * counters) and {@link TokenStore} (one-time links) on PostgreSQL, for any number of app instances
 * on any number of hosts, and {@link PostgresUserStore} for accounts. The app passes its own
 * `pg.Pool` in: this module imports only types, never `pg`, and never ends the pool. The schema is
 * created or upgraded on first use (or by `migrate()`), versioned in a `<prefix>meta` table, under
 * an advisory lock.
 *
 * The clock is the database's: every expiry is stamped and compared in SQL
 * with `clock_timestamp()`, so app instances with skewed clocks agree on when a session ends.
 * Each operation is one statement (atomic under PostgreSQL's row locks) except the remember-me
 * rotation, one short transaction. Every driver failure rejects with a coded
 * {@link StoreUnavailableError} that keeps the driver's error as `cause`, so a database that is
 * down reads as "try again" (503), never as "nobody is logged in". Misuse throws `TypeError`.
 *
 * @module postgres/store
 */
import type { CounterState, CounterStore } from '../counter-store.ts';
import { requireMs } from '../duration.ts';
import { ReadBatch } from '../lib/read-batch.ts';
import { readClock, requireString, startSweep, StoreKit } from '../lib/store-kit.ts';
import { decideRememberUse, rememberUseOf } from '../remember-decision.ts';
import { checkNewSession, type NewRememberToken, type NewSession, type RememberUse, type Session, type SessionUpdate, type Store } from '../store.ts';
import type { NewOneTimeToken, OneTimeToken, TokenStore } from '../token-store.ts';
import { clearCounter, forgiveFailure, getCounter, recordFailure } from './counters.ts';
import { Migration } from './migrations.ts';
import { toMs, withTransaction } from './pool.ts';
import type { PostgresPool, PostgresQueryable, Row } from './pool.ts';
import { execute, preparedAll } from './prepared.ts';
import type { Query } from './prepared.ts';
import { migrate, SESSION_STATEMENTS, statements, toBatchRow, toSession } from './schema.ts';
import type { Sql } from './schema.ts';
import { resolvePostgresOptions, type PostgresStoreOptions } from './store-options.ts';
import { consumeToken, createToken, deleteUserTokens, findToken } from './tokens.ts';

/**
 * Sessions, remember-me tokens, throttle counters and one-time tokens in PostgreSQL.
 *
 * Timeouts are the pool's: node-postgres waits for a connection forever by default
 * (`connectionTimeoutMillis: 0`), so set it, and a statement timeout. The login manager's
 * `storeTimeout` also bounds every call, but only the pool's timeouts stop the work behind it.
 *
 * Statements run as named prepared statements, parsed and planned once per connection. Behind a
 * pooler in transaction mode, use one that tracks prepared statements (PgBouncer 1.21 and later,
 * with `max_prepared_statements` set).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresStore, PostgresUserStore } from 'latchkey/postgres';
 *
 * const pool = new pg.Pool({
 *   connectionString: process.env.DATABASE_URL,
 *   max: 10,
 *   connectionTimeoutMillis: 2_000, // default 0 waits for ever when the database is unreachable
 *   query_timeout: 3_000,           // client side: a server that stops answering fails the query
 *   statement_timeout: 2_000,       // server side: the database cancels the statement
 *   idle_in_transaction_session_timeout: 10_000, // a frozen app cannot hold a row lock for ever
 *   idleTimeoutMillis: 30_000,
 * });
 * // An idle client whose connection dies emits `error` on the pool; unhandled, it ends the process.
 * pool.on('error', (error) => console.error('postgres pool:', error.message));
 *
 * const store = new PostgresStore({ pool });
 * await store.migrate(); // optional: otherwise the first call creates the tables
 * const users = new PostgresUserStore({ pool });
 * process.on('SIGTERM', async () => { await store.close(); await pool.end(); });
 * ```
 */
export class PostgresStore implements Store, CounterStore, TokenStore {
  readonly #pool: PostgresPool;
  readonly #sql: Sql;
  readonly #now: (() => number) | null;
  readonly #kit = new StoreKit('PostgresStore');
  readonly #migration: Migration;
  readonly #stopSweep: () => void;
  readonly #sessionReads = new ReadBatch<Session>((ids) => this.#readSessions(ids));

  constructor(options: PostgresStoreOptions) {
    const { pool, tables, now, sweepInterval } = resolvePostgresOptions(options);
    this.#pool = pool;
    this.#now = now;
    this.#migration = new Migration(() => migrate(pool, tables));
    // Named once here: unnamed, PostgreSQL would parse and plan each statement on every call (~360 µs
    // of database CPU per protected request with two SELECTs). Caveats: postgres/prepared.
    this.#sql = preparedAll(statements(tables), SESSION_STATEMENTS);
    this.#stopSweep = startSweep(sweepInterval, () => this.deleteExpired());
  }

  async createSession(session: NewSession): Promise<Session> {
    requireString('id', session.id);
    requireMs('idleTimeout', session.idleTimeout, 1);
    requireMs('absoluteTimeout', session.absoluteTimeout, 1);
    checkNewSession(session);
    return this.#run('createSession', async (query) => {
      const [row] = await query(this.#sql.insertSession, [
        session.id, session.secretHash, session.userId, session.fresh === true, session.rememberSeries,
        session.identifier, session.userAgent, session.ipAddress, session.idleTimeout, session.absoluteTimeout,
        session.authenticatedAt ?? null, session.absoluteExpiresAt ?? null, session.methods ?? [],
      ]);
      return toSession(row as Row);
    });
  }

  /**
   * Read with the other session reads of this turn of the event loop, in one statement
   * (lib/read-batch): one round trip instead of one per request.
   */
  getSession(id: string): Promise<Session | null> {
    // Not async, as SqliteStore's: a promise fewer on every authenticated request; misuse still rejects.
    if (typeof id !== 'string') return Promise.reject(new TypeError('id must be a string'));
    return this.#sessionReads.load(id);
  }

  #readSessions(ids: readonly string[]): Promise<Map<string, Session>> {
    return this.#run('getSession', async (query) => {
      const sessions = new Map<string, Session>();
      for (const row of await query(this.#sql.selectSessions, [JSON.stringify(ids)])) {
        // Valid while now < expiresAt (SEC-29); an expired row goes as it is found (SEC-28).
        const { live, session } = toBatchRow(row);
        if (live) sessions.set(session.id, session);
        else await query(this.#sql.deleteSessionIfExpired, [session.id]);
      }
      return sessions;
    });
  }

  async updateSession(id: string, update: SessionUpdate): Promise<Session | null> {
    requireString('id', id);
    if (update.idleTimeout !== undefined) requireMs('idleTimeout', update.idleTimeout, 1);
    return this.#run('updateSession', async (query) => {
      const [row] = await query(this.#sql.updateSession, [
        id, update.fresh ?? null, update.identifier !== undefined, update.identifier ?? null, update.idleTimeout ?? null,
      ]);
      return row === undefined ? null : toSession(row);
    });
  }

  async deleteSession(id: string): Promise<boolean> {
    requireString('id', id);
    return this.#run('deleteSession', async (query) => (await query(this.#sql.deleteSession, [id]))[0]?.live === true);
  }

  async listUserSessions(userId: string): Promise<Session[]> {
    requireString('userId', userId);
    return this.#run('listUserSessions', async (query) => (await query(this.#sql.listUserSessions, [userId])).map(toSession));
  }

  async deleteUserSessions(userId: string, exceptId?: string): Promise<number> {
    requireString('userId', userId);
    if (exceptId !== undefined) requireString('exceptId', exceptId);
    return this.#run('deleteUserSessions', async (query) =>
      Number((await query(this.#sql.deleteUserSessions, [userId, exceptId ?? null]))[0]?.n ?? 0),
    );
  }

  async createRememberToken(token: NewRememberToken): Promise<{ expiresAt: number }> {
    requireString('series', token.series);
    requireMs('lifetime', token.lifetime, 1);
    return this.#run('createRememberToken', async (query) => {
      const [row] = await query(this.#sql.insertToken, [token.series, token.validatorHash, token.userId, token.lifetime]);
      return { expiresAt: toMs(row?.expires_at) };
    });
  }

  /**
   * One short transaction: `SELECT … FOR UPDATE` holds the series from the read to the rotation,
   * so two racing requests on any instances never both see the current validator; the
   * later one waits, then reads the rotated row and gets `grace`. The comparison runs here, in
   * constant time, and every later statement reuses the time the first one read.
   */
  async useRememberToken(series: string, validatorHash: string, nextValidatorHash: string, grace: number): Promise<RememberUse | null> {
    requireString('series', series);
    requireString('validatorHash', validatorHash);
    requireString('nextValidatorHash', nextValidatorHash);
    requireMs('grace', grace, 0);
    return this.#run('useRememberToken', (_, clock) =>
      withTransaction(this.#pool, async (client): Promise<RememberUse | null> => {
        const [row] = await this.#bind(client, clock)(this.#sql.lockToken, [series]);
        if (row === undefined) return null;
        const now = toMs(row.now);
        const expiresAt = toMs(row.expires_at);
        const state = {
          validatorHash: row.validator_hash as string,
          previousHash: (row.previous_hash as string | null) ?? null,
          rotatedAt: row.rotated_at === null ? null : toMs(row.rotated_at),
          expiresAt,
        };
        const decision = decideRememberUse(state, validatorHash, now, grace);
        const at = this.#bind(client, now);
        if (decision === 'rotate') await at(this.#sql.rotateToken, [series, nextValidatorHash]);
        else if (decision === 'expired' || decision === 'theft') await at(this.#sql.deleteToken, [series]); // theft: SEC-38
        return rememberUseOf(decision, row.user_id as string, expiresAt);
      }),
    );
  }

  async deleteRememberToken(series: string): Promise<boolean> {
    requireString('series', series);
    return this.#run('deleteRememberToken', async (query) => (await query(this.#sql.deleteToken, [series]))[0]?.live === true);
  }

  async deleteUserRememberTokens(userId: string, exceptSeries?: string): Promise<number> {
    requireString('userId', userId);
    if (exceptSeries !== undefined) requireString('exceptSeries', exceptSeries);
    return this.#run('deleteUserRememberTokens', async (query) =>
      Number((await query(this.#sql.deleteUserTokens, [userId, exceptSeries ?? null]))[0]?.n ?? 0),
    );
  }

  /** Throttle counters, each one statement that loses no concurrent failure: postgres/counters. */
  async recordFailure(key: string, ttl: number): Promise<CounterState> {
    return this.#run('recordFailure', recordFailure(this.#sql, key, ttl));
  }

  async forgiveFailure(key: string): Promise<CounterState | null> {
    return this.#run('forgiveFailure', forgiveFailure(this.#sql, key));
  }

  async getCounter(key: string): Promise<CounterState | null> {
    return this.#run('getCounter', getCounter(this.#sql, key));
  }

  async clearCounter(key: string): Promise<void> {
    return this.#run('clearCounter', clearCounter(this.#sql, key));
  }

  /** One-time tokens (reset, verification and email-change links): postgres/tokens. */
  async createToken(token: NewOneTimeToken): Promise<OneTimeToken> {
    return this.#run('createToken', createToken(this.#sql, token));
  }

  async findToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    return this.#run('findToken', findToken(this.#sql, hash, purpose));
  }

  async consumeToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    return this.#run('consumeToken', consumeToken(this.#sql, hash, purpose));
  }

  async deleteUserTokens(userId: string, purpose?: string): Promise<number> {
    return this.#run('deleteUserTokens', deleteUserTokens(this.#sql, userId, purpose));
  }

  /**
   * Deletes every expired session, remember token, counter and one-time token, in one statement,
   * and returns how many rows went. The background sweep calls it every `sweepInterval` ms; call it from a
   * job of your own if you disable that.
   */
  async deleteExpired(): Promise<number> {
    return this.#run('deleteExpired', async (query) => Number((await query(this.#sql.deleteExpired, []))[0]?.n ?? 0));
  }

  /**
   * Creates or upgrades the tables; idempotent, and safe to run from several instances at once.
   * Every method calls it on first use; call it at start-up to fail fast. Rejects with
   * {@link StoreUnavailableError} (the schema missing, no privilege) or {@link SchemaVersionError}
   * (a newer latchkey's schema), and tries again on the next call.
   */
  async migrate(): Promise<void> {
    this.#kit.checkOpen('migrate');
    return this.#migration.run((cause) => this.#kit.failure('migrate', cause));
  }

  /** Resolves when the database answers `SELECT 1` (and the schema is in place). */
  async ping(): Promise<void> {
    await this.#run('ping', (query) => query(this.#sql.ping, []));
  }

  /** Stops the sweep; later calls reject. The pool is the app's: it stays open. Idempotent. */
  async close(): Promise<void> {
    this.#kit.close();
    this.#stopSweep();
  }

  /** The injected test clock, or null: the database's. */
  #clock(): number | null {
    return this.#now === null ? null : readClock('PostgresStore', this.#now);
  }

  #bind(db: PostgresQueryable, now: number | null): Query {
    return async (sql, values) => (await execute(db, sql, [now, ...values])).rows;
  }

  /** Runs one operation after the migration; failures become coded errors (lib/store-kit). */
  async #run<T>(operation: string, work: (query: Query, clock: number | null) => Promise<T>): Promise<T> {
    this.#kit.checkOpen(operation);
    const clock = this.#clock();
    try {
      if (!this.#migration.done) await this.migrate();
      return await work(this.#bind(this.#pool, clock), clock);
    } catch (cause) {
      throw this.#kit.failure(operation, cause);
    }
  }
}
