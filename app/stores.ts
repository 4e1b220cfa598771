/**
 * Opens the stores the configuration names: SQLite by default (sessions, remember tokens and
 * throttle counters in `latchkey_*` tables, users in `users`, all in one file). PostgreSQL and
 * Redis are opened here too once their stores exist (the scale-out work).
 *
 * @module app/stores
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CounterStore, Store, UserStore } from 'latchkey';
import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';
import { sqlitePath, type AppConfig } from './config.ts';

export interface AppStores {
  readonly sessions: Store & CounterStore;
  readonly users: UserStore;
  /** Each store's health, for `/healthz`. */
  ping(): Promise<Record<string, 'ok' | 'unavailable'>>;
  close(): Promise<void>;
}

/** Opens the stores, or throws an Error whose message names the variable at fault. */
export async function openStores(config: AppConfig): Promise<AppStores> {
  if (!config.databaseUrl.startsWith('sqlite:')) {
    throw new Error('DATABASE_URL: PostgreSQL is not supported by this build yet; use sqlite:<path>');
  }
  if (config.sessionStoreUrl !== config.databaseUrl && !config.sessionStoreUrl.startsWith('sqlite:')) {
    throw new Error('SESSION_STORE: Redis and PostgreSQL session stores are not supported by this build yet; leave it unset');
  }
  const usersPath = sqlitePath(config.databaseUrl);
  const sessionsPath = sqlitePath(config.sessionStoreUrl);
  for (const path of new Set([usersPath, sessionsPath])) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw new Error(`DATABASE_URL: cannot create the directory of ${path} (${(error as Error).message})`);
    }
  }
  const sessions = new SqliteStore({ path: sessionsPath });
  const users = new SqliteUserStore({ path: usersPath });
  try {
    await sessions.ping();
    await users.ping();
  } catch (error) {
    await sessions.close().catch(() => {});
    await users.close().catch(() => {});
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new Error(`DATABASE_URL: cannot open the SQLite database ${usersPath} (${cause})`);
  }
  const check = async (ping: () => Promise<unknown>): Promise<'ok' | 'unavailable'> => {
    try {
      await ping();
      return 'ok';
    } catch {
      return 'unavailable';
    }
  };
  return {
    sessions,
    users,
    ping: async () => ({ sessions: await check(() => sessions.ping()), users: await check(() => users.ping()) }),
    close: async () => {
      await sessions.close();
      await users.close();
    },
  };
}
