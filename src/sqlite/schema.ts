/**
 * The tables of `latchkey/sqlite`, their migrations, and every statement the store prepares. The
 * schema version lives in a `<prefix>meta` table rather than `PRAGMA user_version`, because the
 * file may be the app's own database and `user_version` is the app's to use. Times are INTEGER ms
 * since the epoch; booleans are 0/1; only SHA-256 digests of secrets are stored (SEC-21, SEC-36,
 * SEC-57), and the throttle's counters are keyed by keyed hashes, never by an email or IP (SEC-69).
 * Every table is `WITHOUT ROWID`, so a lookup by key is one B-tree search (getSession runs on
 * every authenticated request, getCounter on every login attempt).
 *
 * @module sqlite/schema
 */
import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite';
import { parseAuthMethods } from '../auth-methods.ts';
import { SchemaVersionError } from '../errors.ts';
import type { Session } from '../store.ts';
import type { OneTimeToken } from '../token-store.ts';
import { prepare } from './connection.ts';

/**
 * Migration `n` takes the schema from version `n` to `n + 1`. Append new ones; never edit one that
 * has shipped. The schema version of a database is the number of migrations applied to it.
 */
const MIGRATIONS: ReadonlyArray<(prefix: string) => string> = [
  // Version 1.
  (p) => `
    CREATE TABLE IF NOT EXISTS ${p}sessions (
      id TEXT NOT NULL PRIMARY KEY,
      secret_hash TEXT NOT NULL,
      user_id TEXT NOT NULL,
      fresh INTEGER NOT NULL,
      remember_series TEXT,
      identifier TEXT,
      user_agent TEXT,
      ip_address TEXT,
      created_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      absolute_expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${p}sessions_user_id ON ${p}sessions (user_id, created_at);
    CREATE INDEX IF NOT EXISTS ${p}sessions_expires_at ON ${p}sessions (expires_at);
    CREATE TABLE IF NOT EXISTS ${p}remember_tokens (
      series TEXT NOT NULL PRIMARY KEY,
      validator_hash TEXT NOT NULL,
      previous_hash TEXT,
      rotated_at INTEGER,
      user_id TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      last_used_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${p}remember_tokens_user_id ON ${p}remember_tokens (user_id);
    CREATE INDEX IF NOT EXISTS ${p}remember_tokens_expires_at ON ${p}remember_tokens (expires_at);
  `,
  // Version 2: the throttle's failure counters (SEC-51, SEC-53), swept by expires_at.
  (p) => `
    CREATE TABLE IF NOT EXISTS ${p}counters (
      key TEXT NOT NULL PRIMARY KEY,
      count INTEGER NOT NULL,
      first_at INTEGER NOT NULL,
      last_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${p}counters_expires_at ON ${p}counters (expires_at);
  `,
  // Version 3: when the user last authenticated for a session's login, kept across rotations, so
  // that freshness counts from it (SEC-35, issue 10 finding 2). A session made before it was a login
  // of its own: its creation is the best value there is.
  (p) => `
    ALTER TABLE ${p}sessions ADD COLUMN authenticated_at INTEGER NOT NULL DEFAULT 0;
    UPDATE ${p}sessions SET authenticated_at = created_at;
  `,
  // Version 4: one-time tokens (reset, verification and email-change links; SEC-57, SEC-61): the
  // SHA-256 of the token as the key, never the token; by user for deleteUserTokens, by expiry for
  // the sweep.
  (p) => `
    CREATE TABLE IF NOT EXISTS ${p}tokens (
      hash TEXT NOT NULL PRIMARY KEY,
      user_id TEXT NOT NULL,
      purpose TEXT NOT NULL,
      email TEXT,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${p}tokens_user_id ON ${p}tokens (user_id, purpose);
    CREATE INDEX IF NOT EXISTS ${p}tokens_expires_at ON ${p}tokens (expires_at);
  `,
  // Version 5: how the user authenticated for a session (SEC-84), a JSON array of methods; a
  // session made before it recorded none and reads as [] (NULL).
  (p) => `ALTER TABLE ${p}sessions ADD COLUMN methods TEXT;`,
];

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Runs `work` inside `BEGIN IMMEDIATE … COMMIT`. IMMEDIATE takes the write lock up front, so two
 * processes wait for each other through the busy timeout instead of failing with SQLITE_BUSY when
 * a read lock cannot be upgraded (https://sqlite.org/lang_transaction.html). Rolls back on error.
 */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    try {
      if (db.isTransaction) db.exec('ROLLBACK');
    } catch {
      // The original error says more than a failed rollback; SQLite rolls back on close anyway.
    }
    throw error;
  }
}

/** Creates or upgrades the tables, once, under the write lock so two starting processes agree. */
export function migrate(db: DatabaseSync, prefix: string): void {
  applyMigrations(db, `${prefix}meta`, MIGRATIONS.map((migration) => migration(prefix)));
}

/**
 * Brings a set of tables whose version is kept in the table `meta` to `migrations.length`, running
 * the migrations it lacks in one write transaction (all or nothing). Migration `n` takes the
 * tables from version `n` to `n + 1`; a version above what this code knows is refused with a
 * {@link SchemaVersionError}: retrying cannot help, so it is no 503.
 */
export function applyMigrations(db: DatabaseSync, meta: string, migrations: readonly string[]): void {
  transaction(db, () => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${meta} (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
    const row = prepare(db, `SELECT value FROM ${meta} WHERE key = 'schema_version'`).get();
    const version = row === undefined ? 0 : Number(row.value);
    if (!Number.isSafeInteger(version) || version < 0 || version > migrations.length) {
      throw new SchemaVersionError(meta, String(row?.value), migrations.length);
    }
    for (const migration of migrations.slice(version)) db.exec(migration);
    prepare(db, `INSERT INTO ${meta} (key, value) VALUES ('schema_version', ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(String(migrations.length));
  });
}

/**
 * The session columns, in the order {@link sessionFromValues} reads them: the statements that
 * return sessions return each row as an array of values (`setReturnArrays`).
 */
const SESSION = `id, secret_hash, user_id, fresh, remember_series, identifier, user_agent, ip_address,
  created_at, authenticated_at, last_seen_at, expires_at, absolute_expires_at, methods`;

/**
 * A {@link Session} from one row of {@link SESSION}, as an object literal. Why not node:sqlite's
 * row objects: it makes them in dictionary mode (slow properties, null prototype), so every read
 * of a session's fields on the request path was a dictionary lookup; objects of one literal share
 * one hidden class and their reads stay monomorphic. Measured with bench/hot-path.ts (sessions
 * and users together): an authenticated request's path went from 12.5 to 8.5 µs of CPU.
 */
export function sessionFromValues(row: object): Session {
  const v = row as readonly SQLOutputValue[]; // node:sqlite's types do not follow setReturnArrays
  return Object.freeze({
    id: v[0] as string,
    secretHash: v[1] as string,
    userId: v[2] as string,
    fresh: v[3] === 1,
    rememberSeries: v[4] as string | null,
    identifier: v[5] as string | null,
    userAgent: v[6] as string | null,
    ipAddress: v[7] as string | null,
    createdAt: v[8] as number,
    authenticatedAt: v[9] as number,
    lastSeenAt: v[10] as number,
    expiresAt: v[11] as number,
    absoluteExpiresAt: v[12] as number,
    methods: parseAuthMethods(v[13] as string | null),
  });
}

/** One-time token columns under the names of {@link OneTimeToken}'s fields. */
const TOKEN = `hash, user_id AS userId, purpose, email, created_at AS createdAt, expires_at AS expiresAt`;

/** Every statement the store runs, prepared once per connection. Parameters are named. */
export function prepareStatements(db: DatabaseSync, p: string) {
  const s = `${p}sessions`;
  const r = `${p}remember_tokens`;
  const c = `${p}counters`;
  const t = `${p}tokens`;
  const statement = (sql: string): StatementSync => prepare(db, sql);
  // Rows of sessions as arrays of values, read by sessionFromValues.
  const sessions = (sql: string): StatementSync => prepare(db, sql, 'arrays');
  return Object.freeze({
    insertSession: sessions(`INSERT INTO ${s} (id, secret_hash, user_id, fresh, remember_series, identifier,
        user_agent, ip_address, created_at, authenticated_at, last_seen_at, expires_at, absolute_expires_at, methods)
      VALUES (:id, :secretHash, :userId, :fresh, :rememberSeries, :identifier, :userAgent, :ipAddress,
        :now, :authenticatedAt, :now, :expiresAt, :absoluteExpiresAt, :methods)
      RETURNING ${SESSION}`),
    // The sessions of a batch of reads (lib/read-batch): :ids is a JSON array of ids, one statement
    // and so one read transaction for all of them.
    selectSessions: sessions(`SELECT ${SESSION} FROM ${s} WHERE id IN (SELECT value FROM json_each(:ids))`),
    deleteSessionIfExpired: statement(`DELETE FROM ${s} WHERE id = :id AND expires_at <= :now`),
    // One conditional statement: atomic across processes, and a deleted or expired row matches
    // nothing, so nothing is recreated (SEC-34). The touch is monotonic and capped.
    updateSession: sessions(`UPDATE ${s} SET
        fresh = coalesce(:fresh, fresh),
        identifier = iif(:setIdentifier, :identifier, identifier),
        last_seen_at = iif(:idleTimeout IS NULL, last_seen_at, max(last_seen_at, :now)),
        expires_at = iif(:idleTimeout IS NULL, expires_at,
          max(expires_at, min(:now + :idleTimeout, absolute_expires_at)))
      WHERE id = :id AND expires_at > :now
      RETURNING ${SESSION}`),
    // `live` tells the caller whether the row was still a session or already expired garbage.
    deleteSession: statement(`DELETE FROM ${s} WHERE id = :id RETURNING expires_at > :now AS live`),
    listUserSessions: sessions(`SELECT ${SESSION} FROM ${s}
      WHERE user_id = :userId AND expires_at > :now ORDER BY created_at DESC`),
    deleteUserSessions: statement(`DELETE FROM ${s} WHERE user_id = :userId AND id IS NOT :exceptId
      RETURNING expires_at > :now AS live`),
    deleteExpiredSessions: statement(`DELETE FROM ${s} WHERE expires_at <= :now`),

    insertToken: statement(`INSERT INTO ${r} (series, validator_hash, user_id, created_at, expires_at)
      VALUES (:series, :validatorHash, :userId, :now, :expiresAt)`),
    selectToken: statement(`SELECT validator_hash AS validatorHash, previous_hash AS previousHash,
        rotated_at AS rotatedAt, user_id AS userId, expires_at AS expiresAt
      FROM ${r} WHERE series = :series`),
    rotateToken: statement(`UPDATE ${r} SET previous_hash = validator_hash, validator_hash = :next,
        rotated_at = :now, last_used_at = :now
      WHERE series = :series`),
    deleteToken: statement(`DELETE FROM ${r} WHERE series = :series RETURNING expires_at > :now AS live`),
    deleteUserTokens: statement(`DELETE FROM ${r} WHERE user_id = :userId AND series IS NOT :exceptSeries
      RETURNING expires_at > :now AS live`),
    deleteExpiredTokens: statement(`DELETE FROM ${r} WHERE expires_at <= :now`),

    // One statement, so one atomic step under SQLite's write lock, across processes.
    // SET expressions read the row as it was before the update. A live row (expires_at > :now)
    // counts on, an expired one starts again at 1; the expiry slides and, like last_at, never
    // moves backwards.
    recordFailure: statement(`INSERT INTO ${c} (key, count, first_at, last_at, expires_at)
      VALUES (:key, 1, :now, :now, :expiresAt)
      ON CONFLICT (key) DO UPDATE SET
        count = iif(expires_at > :now, count + 1, 1),
        first_at = iif(expires_at > :now, first_at, :now),
        last_at = iif(expires_at > :now, max(last_at, :now), :now),
        expires_at = iif(expires_at > :now, max(expires_at, :expiresAt), :expiresAt)
      RETURNING count, first_at AS firstAt, last_at AS lastAt`),
    selectCounter: statement(`SELECT count, first_at AS firstAt, last_at AS lastAt, expires_at AS expiresAt
      FROM ${c} WHERE key = :key`),
    deleteCounterIfExpired: statement(`DELETE FROM ${c} WHERE key = :key AND expires_at <= :now`),
    deleteCounter: statement(`DELETE FROM ${c} WHERE key = :key`),
    decrementCounter: statement(`UPDATE ${c} SET count = count - 1 WHERE key = :key`),
    deleteExpiredCounters: statement(`DELETE FROM ${c} WHERE expires_at <= :now`),

    // A hash held by an expired token is taken over; one held by a live token returns no row and
    // the store rejects: 256-bit hashes do not collide, so it is a bug, never a rebinding (SEC-57).
    insertOneTimeToken: statement(`INSERT INTO ${t} (hash, user_id, purpose, email, created_at, expires_at)
      VALUES (:hash, :userId, :purpose, :email, :now, :expiresAt)
      ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, purpose = excluded.purpose, email = excluded.email,
        created_at = excluded.created_at, expires_at = excluded.expires_at
      WHERE expires_at <= :now
      RETURNING ${TOKEN}`),
    selectOneTimeToken: statement(`SELECT ${TOKEN} FROM ${t} WHERE hash = :hash`),
    // One statement: the write lock makes it atomic across processes, so of parallel consumptions
    // exactly one gets the row (R-05, SEC-57). An expired row matches nothing.
    consumeOneTimeToken: statement(`DELETE FROM ${t} WHERE hash = :hash AND purpose = :purpose AND expires_at > :now
      RETURNING ${TOKEN}`),
    deleteOneTimeTokenIfExpired: statement(`DELETE FROM ${t} WHERE hash = :hash AND expires_at <= :now`),
    deleteUserOneTimeTokens: statement(`DELETE FROM ${t} WHERE user_id = :userId AND (:purpose IS NULL OR purpose = :purpose)
      RETURNING expires_at > :now AS live`),
    deleteExpiredOneTimeTokens: statement(`DELETE FROM ${t} WHERE expires_at <= :now`),

    ping: statement('SELECT 1'),
  });
}

export type Statements = ReturnType<typeof prepareStatements>;
