/**
 * Opening a SQLite file the way every latchkey SQLite store needs it: a busy timeout, so that
 * several processes on one file wait for the write lock instead of failing with SQLITE_BUSY
 * (`node:sqlite` defaults to 0, security.md ), the WAL journal so readers run beside
 * the one writer, and `synchronous = NORMAL`, durable across app crashes in WAL mode
 * (https://sqlite.org/pragma.html#pragma_synchronous).
 *
 * @module lib/sqlite-connection
 */
import { DatabaseSync } from 'node:sqlite';

/** Opens `path` (or `:memory:`) set up as above; the caller owns and closes it. */
export function openSqlite(path: string, busyTimeout: number): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: busyTimeout });
  try {
    if (path !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Gives an app-owned connection a busy timeout if it has none; changes nothing else of it. */
export function adoptSqlite(db: DatabaseSync, busyTimeout: number): DatabaseSync {
  const row = db.prepare('PRAGMA busy_timeout').get() as { timeout?: number } | undefined;
  if (row?.timeout === 0) db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeout)}`);
  return db;
}
