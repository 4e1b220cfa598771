/**
 * Opening a SQLite file the way every latchkey SQLite store needs it: a busy timeout, so that
 * several processes on one file wait for the write lock instead of failing with SQLITE_BUSY
 * (`node:sqlite` defaults to 0, R-03, R-11), the WAL journal so readers run beside
 * the one writer, and `synchronous = NORMAL`, durable across app crashes in WAL mode
 * (https://sqlite.org/pragma.html#pragma_synchronous). And what both SQLite stores share around
 * it: the `path`-or-`database` option ({@link requireSqliteSource}), connecting on first use
 * ({@link connectSqlite}), and the one way every statement of every latchkey SQLite store is
 * prepared, {@link prepare}.
 *
 * A file it creates is readable by its owner only (0600, like the app's secret key; issue 10,
 * finding 11): it holds session and remember-me hashes, throttle counters and password hashes,
 * and SQLite gives the `-wal` and `-shm` files the mode of the database file. A file that cannot
 * be opened is reported with its path and the system's reason (finding 14), where SQLite alone
 * says "unable to open database file".
 *
 * @module sqlite/connection
 */
import { closeSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StoreUnavailableError } from '../errors.ts';
import { loadSqlite } from '../lib/runtime.ts';

/**
 * `node:sqlite`, loaded once this Node is known to have it: on Node 20 a static import fails with
 * `ERR_UNKNOWN_BUILTIN_MODULE` and no word of the fix; this says "needs Node.js 24 or later".
 */
const sqlite = loadSqlite();

/** Where a SQLite store's data lives: a file it opens and owns, or a connection the app owns. */
export interface SqliteSource {
  readonly path: string | null;
  readonly database: DatabaseSync | null;
}

/**
 * Checks the `path` and `database` options of `owner`: exactly one, a non-empty path or a
 * `node:sqlite` connection (misuse: `TypeError`), and a path whose folder exists (finding 14).
 */
export function requireSqliteSource(owner: string, options: { readonly path?: unknown; readonly database?: unknown }): SqliteSource {
  const { path, database } = options;
  if ((path === undefined) === (database === undefined)) throw new TypeError(`${owner}: pass exactly one of \`path\` and \`database\``);
  if (path !== undefined && (typeof path !== 'string' || path === '')) throw new TypeError(`${owner}: path must be a file path or ":memory:"`);
  if (database !== undefined && !(database instanceof sqlite.DatabaseSync)) throw new TypeError(`${owner}: database must be a node:sqlite DatabaseSync`);
  if (typeof path === 'string') requireSqliteFolder(owner, path);
  return Object.freeze({ path: (path as string | undefined) ?? null, database: (database as DatabaseSync | undefined) ?? null });
}

/**
 * Opens the file of `source` (or adopts the app's connection) and sets it up with `setUp`
 * (migrate, prepare): on first use, not at construction. When `setUp` fails, a file it opened is
 * closed again, so that nothing is left half-open and the next call tries from scratch.
 */
export function connectSqlite<T>(owner: string, source: SqliteSource, busyTimeout: number, setUp: (db: DatabaseSync) => T): { readonly db: DatabaseSync; readonly prepared: T } {
  const db = source.database === null ? openSqlite(owner, source.path as string, busyTimeout) : adoptSqlite(source.database, busyTimeout);
  try {
    return { db, prepared: setUp(db) };
  } catch (error) {
    if (source.database === null) {
      try {
        db.close();
      } catch {
        // The first error is the one worth reporting.
      }
    }
    throw error;
  }
}

/** A path to a file: not `:memory:`, not a `file:` URI. */
function isFilePath(path: string): boolean {
  return path !== ':memory:' && !path.startsWith('file:');
}

/**
 * Throws, naming the path, when the folder of `path` does not exist: a store made on such a path
 * fails at construction, where a configuration mistake belongs, not at its first request (finding 14).
 */
export function requireSqliteFolder(owner: string, path: string): void {
  if (!isFilePath(path)) return;
  const folder = dirname(resolve(path));
  try {
    if (statSync(folder).isDirectory()) return;
  } catch (cause) {
    throw new StoreUnavailableError(`${owner}: cannot open the SQLite database ${path}: its folder ${folder} does not exist`, { cause });
  }
  throw new StoreUnavailableError(`${owner}: cannot open the SQLite database ${path}: ${folder} is not a folder`);
}

/**
 * Opens `path` (or `:memory:`) set up as above; the caller owns and closes it. Throws a
 * {@link StoreUnavailableError} that names the path and keeps the driver's or system's error as `cause`.
 */
export function openSqlite(owner: string, path: string, busyTimeout: number): DatabaseSync {
  let db: DatabaseSync;
  try {
    if (isFilePath(path)) createPrivately(path);
    db = new sqlite.DatabaseSync(path, { timeout: busyTimeout });
  } catch (cause) {
    throw new StoreUnavailableError(`${owner}: cannot open the SQLite database ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    if (path !== ':memory:') execPatiently(db, 'PRAGMA journal_mode = WAL', busyTimeout);
    db.exec('PRAGMA synchronous = NORMAL');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Prepares `sql` to give rows of numbers and strings with bare named parameters, whatever
 * defaults an app's shared connection was opened with (`readBigInts`, `returnArrays`…). Every
 * statement of the session store, the user store and the schema code comes from here, so none
 * can miss a setting (finding 12 of issue 10: the user store's own copy skipped
 * `setReturnArrays(false)` and read rows of an app's `returnArrays` connection as garbage).
 * Rows are objects, or with `arrays` arrays of values in the order of the columns: the request
 * path's statements (a session, a user) take arrays, because node:sqlite makes its row objects in
 * dictionary mode and every field read of those is a dictionary lookup (sqlite/schema's
 * sessionFromValues).
 */
export function prepare(db: DatabaseSync, sql: string, rows: 'objects' | 'arrays' = 'objects'): StatementSync {
  const statement = db.prepare(sql);
  statement.setReadBigInts(false); // ms timestamps and row ids are far below 2^53
  statement.setReturnArrays(rows === 'arrays');
  statement.setAllowBareNamedParameters(true);
  statement.setAllowUnknownNamedParameters(false);
  return statement;
}

/** Creates `path` with mode 0600 unless it exists; SQLite reads an empty file as a new database. */
function createPrivately(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** Gives an app-owned connection a busy timeout if it has none; changes nothing else of it. */
export function adoptSqlite(db: DatabaseSync, busyTimeout: number): DatabaseSync {
  if (prepare(db, 'PRAGMA busy_timeout').get()?.timeout === 0) db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeout)}`);
  return db;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** SQLITE_BUSY (5), or one of its extended codes. */
function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === 5;
}

/**
 * Runs `sql`, again while SQLite answers SQLITE_BUSY, for at most `ms`. Switching a new file to
 * WAL needs the exclusive lock, and SQLite refuses it at once, without calling the busy handler,
 * when waiting could deadlock: two connections that each hold the shared lock and both want it,
 * as when two processes open a new file at the same moment. The waits block, but only the
 * first connection of a store, and only in that race: 1 ms, doubling up to 50 ms.
 */
function execPatiently(db: DatabaseSync, sql: string, ms: number): void {
  const until = Date.now() + ms;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      db.exec(sql);
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= until) throw error;
      Atomics.wait(pause, 0, 0, wait);
    }
  }
}
