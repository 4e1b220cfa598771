/**
 * `latchkey/sqlite`: sessions, remember-me tokens and throttle counters ({@link SqliteStore}) and
 * accounts ({@link SqliteUserStore}) in one SQLite file, on `node:sqlite`. One host, any number of
 * processes (WAL, busy timeout; R-11).
 *
 * @module sqlite
 */
import { requireNode } from '../lib/runtime.ts';
export { SqliteStore } from './store.ts';
export type { SqliteStoreOptions } from './store-options.ts';
export { SqliteUserStore } from './user-store.ts';
export type { SqliteUserStoreOptions } from './user-store.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/sqlite', 'node:sqlite');
