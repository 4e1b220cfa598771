/**
 * `latchkey/postgres`: sessions, remember-me tokens and throttle counters ({@link PostgresStore})
 * and accounts ({@link PostgresUserStore}) in PostgreSQL, through a `pg.Pool` the app passes in,
 * every time decision on the database's clock.
 *
 * @module postgres
 */
import { requireNode } from '../lib/runtime.ts';
export { PostgresStore } from './store.ts';
export type { PostgresStoreOptions } from './store-options.ts';
export { PostgresUserStore } from './user-store.ts';
export type { PostgresUserStoreOptions } from './user-store.ts';
export type { PostgresPool, PostgresPoolClient, PostgresQueryable, PostgresQueryConfig } from './pool.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/postgres', 'URL.parse, crypto.argon2');
