/**
 * The options of `SqliteStore`, checked once at construction into a frozen object (misuse throws
 * `TypeError`): where the data lives, the clock, the busy timeout, the sweep of
 * expired rows and the table prefix spliced into SQL.
 *
 * @module sqlite/store-options
 */
import type { DatabaseSync } from 'node:sqlite';
import { requireMs } from '../duration.ts';
import { MAX_TIMER_MS, requireClock, requireOptions } from '../lib/store-kit.ts';
import { requireSqliteSource, type SqliteSource } from './connection.ts';

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

/** The checked options. */
export interface ResolvedSqliteOptions {
  readonly source: SqliteSource;
  readonly now: () => number;
  readonly busyTimeout: number;
  readonly sweepInterval: number;
  readonly tablePrefix: string;
}

const PREFIX = /^[a-z_][a-z0-9_]*$/i;

/** Checks `options` once; throws `TypeError` for misuse, and names a missing folder (finding 14). */
export function resolveSqliteOptions(options: SqliteStoreOptions): ResolvedSqliteOptions {
  requireOptions('SqliteStore', options);
  const now = requireClock('SqliteStore', options.now) ?? Date.now;
  const tablePrefix = options.tablePrefix ?? 'latchkey_';
  // The prefix is spliced into SQL as an identifier, so it is checked, never quoted.
  if (typeof tablePrefix !== 'string' || !PREFIX.test(tablePrefix) || tablePrefix.length > 64) {
    throw new TypeError(`SqliteStore: tablePrefix must match ${PREFIX} (at most 64 characters)`);
  }
  const busyTimeout = requireMs('SqliteStore: busyTimeout', options.busyTimeout ?? 5_000, 0, MAX_TIMER_MS);
  const sweepInterval = requireMs('SqliteStore: sweepInterval', options.sweepInterval ?? 60_000, 0, MAX_TIMER_MS);
  // Last: a missing folder is a coded error, after every misuse has had its TypeError.
  const source = requireSqliteSource('SqliteStore', options);
  return Object.freeze({ source, now, busyTimeout, sweepInterval, tablePrefix });
}
