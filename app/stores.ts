/**
 * Opens the stores the configuration names (the app's HTTP contract): users in `DATABASE_URL` (SQLite by
 * default, or PostgreSQL), and sessions, remember-me tokens and throttle counters in
 * `SESSION_STORE` (the same database by default, or Redis). Drivers are loaded only when
 * configured. Every connection gets explicit timeouts and handled `error`
 * events, and a Redis that may evict keys is refused at start: a revoked session or a lock
 * marker must never silently disappear.
 *
 * @module app/stores
 */
import { dirname } from 'node:path';
import type { CounterStore, CredentialStore, Store, TokenStore, UserStore } from 'latchkey';
import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';
import { ensureDataDir, redact, sqlitePath, type AppConfig } from './config.ts';

export interface AppStores {
  readonly sessions: Store & CounterStore & TokenStore;
  /** The accounts, and their passkeys (SEC-83): both user stores keep credentials. */
  readonly users: UserStore & CredentialStore;
  /** Each store's health, for `/healthz`. */
  ping(): Promise<Record<string, 'ok' | 'unavailable'>>;
  close(): Promise<void>;
}

type Log = (line: string) => void;
type Opened<T> = { readonly store: T; readonly ping: () => Promise<unknown>; readonly close: () => Promise<void> };

/** Opens the stores, or throws an Error whose message names the variable at fault. */
export async function openStores(config: AppConfig, log: Log = (line) => console.error(line)): Promise<AppStores> {
  const opened: Array<Opened<unknown>> = [];
  const closeAll = async () => {
    for (const item of opened.reverse()) await item.close().catch(() => {});
  };
  try {
    const sameDatabase = config.sessionStoreUrl === config.databaseUrl;
    let users: Opened<UserStore & CredentialStore>;
    let sessions: Opened<Store & CounterStore & TokenStore>;
    if (config.databaseUrl.startsWith('sqlite:')) {
      users = await openSqlite('DATABASE_URL', sqlitePath(config.databaseUrl), config.dataDir, (path) => new SqliteUserStore({ path }));
    } else {
      users = await openPostgres('DATABASE_URL', config.databaseUrl, log, 'users');
    }
    opened.push(users);
    if (config.sessionStoreUrl.startsWith('redis')) {
      sessions = await openRedis(config.sessionStoreUrl, log);
    } else if (config.sessionStoreUrl.startsWith('sqlite:')) {
      sessions = await openSqlite(sameDatabase ? 'DATABASE_URL' : 'SESSION_STORE', sqlitePath(config.sessionStoreUrl), config.dataDir, (path) => new SqliteStore({ path }));
    } else {
      sessions = await openPostgres(sameDatabase ? 'DATABASE_URL' : 'SESSION_STORE', config.sessionStoreUrl, log, 'sessions');
    }
    opened.push(sessions);
    return {
      sessions: sessions.store,
      users: users.store,
      ping: async () => {
        const [u, s] = await Promise.all([check(users.ping), check(sessions.ping)]);
        return { users: u, sessions: s };
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** A store that does not answer within 1.5 s counts as down: a probe must answer in time. */
async function check(ping: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'unavailable'>((resolve) => {
    timer = setTimeout(() => resolve('unavailable'), 1_500);
  });
  const answer = ping().then(() => 'ok' as const, () => 'unavailable' as const);
  return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
}

/** The driver's own message, without the coded wrapper around it. */
function causeOf(error: unknown): string {
  const e = error as Error & { cause?: Error };
  return (e.cause?.message || e.message || String(error)).split('\n')[0] as string;
}

/**
 * Opens a SQLite-backed store and checks now that the file can be used, so that a database that
 * cannot be opened stops start-up with one line naming the variable and the path (finding 14).
 * The app makes DATA_DIR (0700), not the folder of a DATABASE_URL elsewhere: a mistyped path must
 * not quietly start an empty database.
 */
async function openSqlite<T extends { ping(): Promise<void>; close(): Promise<void> }>(
  variable: string,
  path: string,
  dataDir: string,
  make: (path: string) => T,
): Promise<Opened<T>> {
  let store: T | null = null;
  try {
    if (dirname(path) === dataDir) ensureDataDir(dataDir);
    store = make(path);
    await store.ping();
  } catch (error) {
    await store?.close().catch(() => {});
    throw new Error(`${variable}: cannot open the SQLite database ${path} (${causeOf(error)})`);
  }
  const opened = store;
  return { store: opened, ping: () => opened.ping(), close: () => opened.close() };
}

/** Pools are per URL and purpose; both stores of one database share the server, not the pool. */
async function openPostgres<K extends 'users' | 'sessions'>(
  variable: string,
  url: string,
  log: Log,
  kind: K,
): Promise<K extends 'users' ? Opened<UserStore & CredentialStore> : Opened<Store & CounterStore & TokenStore>> {
  const { default: pg } = await import('pg');
  const { PostgresStore, PostgresUserStore } = await import('latchkey/postgres');
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 2_000, // pg's default 0 waits for ever on an unreachable server
    // A query whose server went silent fails here, and pg.Pool drops its connection instead of
    // keeping it busy for ever (R-02). The stores' own deadline answers the request (R-01). Its timer
    // per query costs some garbage collection under load (bench/README.md), which this is worth.
    query_timeout: 1_500,
    statement_timeout: 1_500,
    idle_in_transaction_session_timeout: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that dies emits `error` on the pool; unhandled, it would end the process.
  pool.on('error', (error) => log(`postgres (${variable}): ${error.message}`));
  const store = kind === 'users' ? new PostgresUserStore({ pool }) : new PostgresStore({ pool, sweepInterval: 60_000 });
  try {
    if (store instanceof PostgresStore) await store.migrate();
    await store.ping();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(`${variable}: cannot use the PostgreSQL database at ${redact(url)} (${causeOf(error)})`);
  }
  const close = async () => {
    if (store instanceof PostgresStore) await store.close();
    await pool.end();
  };
  return { store, ping: () => store.ping(), close } as never;
}

async function openRedis(url: string, log: Log): Promise<Opened<Store & CounterStore & TokenStore>> {
  const { createClient } = await import('redis');
  const { RedisStore, checkEvictionPolicy } = await import('latchkey/redis');
  const client = createClient({
    url,
    // Fail fast while Redis is down instead of queueing without bound, and keep reconnecting
    // every ≤ 2 s, so the app recovers on its own when Redis is back.
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(retries * 100, 2_000) },
    disableOfflineQueue: true,
    commandsQueueMaxLength: 1_000,
  });
  let lastError = '';
  client.on('error', (error: Error) => {
    // One line per distinct failure, not one per reconnection attempt.
    if (error.message !== lastError) log(`redis (SESSION_STORE): ${error.message}`);
    lastError = error.message;
  });
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3_000).unref()),
    ]);
  } catch (error) {
    client.destroy();
    throw new Error(`SESSION_STORE: cannot connect to Redis at ${redact(url)} (${causeOf(error)})`);
  }
  const eviction = await checkEvictionPolicy(client);
  if (!eviction.ok && eviction.policy !== 'unknown') {
    client.destroy();
    throw new Error(`SESSION_STORE: ${eviction.message}`);
  }
  if (!eviction.ok) log(`SESSION_STORE: warning: ${eviction.message}`);
  const store = new RedisStore({ client });
  return {
    store,
    ping: () => store.ping(),
    close: async () => {
      await store.close();
      client.destroy();
    },
  };
}
