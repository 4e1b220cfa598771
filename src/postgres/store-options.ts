/**
 * The options of `PostgresStore`, checked once at construction into a frozen object (misuse throws
 * `TypeError`): the app's pool, the schema and table prefix spliced into SQL (checked, never
 * escaped, SEC-73), a test clock and the sweep of expired rows.
 *
 * @module postgres/store-options
 */
import { requireMs } from '../duration.ts';
import { MAX_TIMER_MS, requireClock, requireOptions } from '../lib/store-kit.ts';
import { requireIdentifier, requirePool } from './pool.ts';
import type { PostgresPool } from './pool.ts';
import { tableNames } from './schema.ts';
import type { Tables } from './schema.ts';

/** Options of {@link PostgresStore}, checked once at construction. */
export interface PostgresStoreOptions {
  /**
   * The app's `pg.Pool` (or anything with its `query` and `connect`). Give it timeouts, see the
   * class example, and an `error` listener: the store adds none to the pool. `close()`
   * leaves it open.
   */
  readonly pool: PostgresPool;
  /** The schema of the tables, which must exist. Lower-case letters, digits and `_`. @default "public" */
  readonly schema?: string;
  /** Prefix of the table names, lower-case letters, digits and `_`, at most 32. @default "latchkey_" */
  readonly tablePrefix?: string;
  /** A test clock, ms since the epoch. Default: the database's clock; leave it so in production. */
  readonly now?: () => number;
  /** ms between sweeps of expired rows; 0 disables them. @default 60000 */
  readonly sweepInterval?: number;
}

/** The checked options: the pool, the quoted table names, the test clock or null, the sweep interval. */
export interface ResolvedPostgresOptions {
  readonly pool: PostgresPool;
  readonly tables: Tables;
  readonly now: (() => number) | null;
  readonly sweepInterval: number;
}

/** Checks `options` once; throws `TypeError` for misuse. */
export function resolvePostgresOptions(options: PostgresStoreOptions): ResolvedPostgresOptions {
  requireOptions('PostgresStore', options);
  const pool = requirePool('PostgresStore', options.pool);
  const schema = requireIdentifier('PostgresStore', 'schema', options.schema ?? 'public', 63);
  const prefix = requireIdentifier('PostgresStore', 'tablePrefix', options.tablePrefix ?? 'latchkey_', 32);
  return Object.freeze({
    pool,
    tables: tableNames(schema, prefix),
    now: requireClock('PostgresStore', options.now),
    sweepInterval: requireMs('PostgresStore: sweepInterval', options.sweepInterval ?? 60_000, 0, MAX_TIMER_MS),
  });
}
