/**
 * `SqliteUserStore` (exported by `latchkey/sqlite`): accounts in a SQLite table, on `node:sqlite`.
 * The canonical email and username carry UNIQUE indexes, so concurrent registrations of one
 * address give one row and `null` to the rest, never a 500 (security.md R-04). Queries are
 * parameterised, prepared once (SEC-73). Driver failures become {@link StoreUnavailableError}.
 * The table is created, or upgraded in place, on first use (sqlite/user-schema).
 *
 * @module sqlite/user-store
 */
import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite';
import { requireNewUser } from '../user-store.ts';
import type { NewUser, UserRecord, UserStore } from '../user-store.ts';
import { StoreUnavailableError } from '../errors.ts';
import { adoptSqlite, openSqlite, prepare, requireSqliteFolder } from './connection.ts';
import { migrateUsers, USER_COLUMNS } from './user-schema.ts';

/**
 * Options of {@link SqliteUserStore}: a file it opens (its folder must exist, or the constructor
 * throws `ERR_LATCHKEY_STORE_UNAVAILABLE` naming the path; created with mode 0600 on first use),
 * or the app's own connection.
 */
export type SqliteUserStoreOptions = ({ readonly path: string; readonly database?: never } | { readonly database: DatabaseSync; readonly path?: never }) & {
  /** The table's name. @default "users" */
  readonly table?: string;
  /** ms to wait for another process's write lock. @default 5000 */
  readonly busyTimeout?: number;
  /** The clock of `createdAt`. @default Date.now */
  readonly now?: () => number;
};

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/i;
/** SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (https://sqlite.org/rescode.html). */
const UNIQUE_VIOLATIONS = new Set([2067, 1555]);

type Row = Record<string, SQLOutputValue>;
interface Statements {
  insert: StatementSync;
  byId: StatementSync;
  byLogin: StatementSync;
  setHash: StatementSync;
  setHashIf: StatementSync;
  setActive: StatementSync;
  list: StatementSync;
}

function toUser(row: Row): UserRecord {
  return Object.freeze({
    id: String(row.id),
    email: (row.email as string | null) ?? null,
    emailCanonical: (row.email_canonical as string | null) ?? null,
    username: (row.username as string | null) ?? null,
    usernameCanonical: (row.username_canonical as string | null) ?? null,
    name: row.name as string,
    passwordHash: row.password_hash as string,
    isActive: row.is_active === 1,
    createdAt: row.created_at as number,
  });
}

/**
 * Accounts in SQLite.
 *
 * @example
 * ```ts
 * import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';
 * const users = new SqliteUserStore({ path: './data/app.db' });
 * ```
 */
export class SqliteUserStore implements UserStore {
  readonly #path: string | null;
  readonly #database: DatabaseSync | null;
  readonly #table: string;
  readonly #busyTimeout: number;
  readonly #now: () => number;
  #db: DatabaseSync | null = null;
  #statements: Statements | null = null;
  #closed = false;

  constructor(options: SqliteUserStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('SqliteUserStore: options are required');
    const { path, database } = options as { path?: unknown; database?: unknown };
    if ((path === undefined) === (database === undefined)) throw new TypeError('SqliteUserStore: pass exactly one of `path` and `database`');
    if (path !== undefined && (typeof path !== 'string' || path === '')) throw new TypeError('SqliteUserStore: path must be a file path');
    if (database !== undefined && (typeof database !== 'object' || database === null)) throw new TypeError('SqliteUserStore: database must be a DatabaseSync');
    const table = options.table ?? 'users';
    if (typeof table !== 'string' || !IDENTIFIER.test(table)) throw new TypeError(`SqliteUserStore: table must match ${IDENTIFIER}`);
    const busyTimeout = options.busyTimeout ?? 5000;
    if (!Number.isSafeInteger(busyTimeout) || busyTimeout < 0 || busyTimeout > 2 ** 31 - 1) throw new TypeError('SqliteUserStore: busyTimeout must be whole ms');
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('SqliteUserStore: now must be a function');
    if (path !== undefined) requireSqliteFolder('SqliteUserStore', path as string);
    this.#path = (path as string | undefined) ?? null;
    this.#database = (database as DatabaseSync | undefined) ?? null;
    this.#table = table;
    this.#busyTimeout = busyTimeout;
    this.#now = options.now ?? Date.now;
  }

  async createUser(user: NewUser): Promise<UserRecord | null> {
    requireNewUser('SqliteUserStore', user);
    return this.#run('createUser', (st) => {
      try {
        const row = st.insert.get({
          email: user.email,
          emailCanonical: user.emailCanonical,
          username: user.username,
          usernameCanonical: user.usernameCanonical,
          name: user.name,
          passwordHash: user.passwordHash,
          isActive: user.isActive === false ? 0 : 1,
          createdAt: this.#now(),
        }) as Row;
        return toUser(row);
      } catch (error) {
        // The unique index decided: the email or username is taken.
        if (UNIQUE_VIOLATIONS.has((error as { errcode?: number }).errcode ?? 0)) return null;
        throw error;
      }
    });
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    if (typeof id !== 'string' || !/^\d{1,18}$/.test(id)) return null;
    return this.#run('getUserById', (st) => {
      const row = st.byId.get({ id: Number(id) }) as Row | undefined;
      return row ? toUser(row) : null;
    });
  }

  async getUserByLogin(canonical: string): Promise<UserRecord | null> {
    return this.#run('getUserByLogin', (st) => {
      const row = st.byLogin.get({ login: canonical }) as Row | undefined;
      return row ? toUser(row) : null;
    });
  }

  async updatePasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean> {
    if (!/^\d{1,18}$/.test(id)) return false;
    return this.#run('updatePasswordHash', (st) => {
      const result = expected === undefined
        ? st.setHash.run({ id: Number(id), passwordHash })
        : st.setHashIf.run({ id: Number(id), passwordHash, expected });
      return Number(result.changes) === 1;
    });
  }

  async setUserActive(id: string, isActive: boolean): Promise<boolean> {
    if (!/^\d{1,18}$/.test(id)) return false;
    return this.#run('setUserActive', (st) => Number(st.setActive.run({ id: Number(id), isActive: isActive ? 1 : 0 }).changes) === 1);
  }

  async listUsers(options: { limit?: number; offset?: number } = {}): Promise<UserRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 1000), 0), 100_000);
    const offset = Math.max(Math.trunc(options.offset ?? 0), 0);
    return this.#run('listUsers', (st) => (st.list.all({ limit, offset }) as Row[]).map(toUser));
  }

  /** Resolves when the database answers. */
  async ping(): Promise<void> {
    await this.#run('ping', (st) => st.byId.get({ id: 0 }));
  }

  /** Closes the file it opened (an app-owned connection stays open). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#db !== null && this.#database === null) this.#db.close();
    this.#db = null;
    this.#statements = null;
  }

  async #run<T>(operation: string, work: (statements: Statements) => T): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError(`SqliteUserStore.${operation}(): the store is closed`);
    try {
      return work(this.#statements ?? this.#connect());
    } catch (cause) {
      if (cause instanceof TypeError || cause instanceof StoreUnavailableError) throw cause;
      throw new StoreUnavailableError(`SqliteUserStore.${operation}() failed`, { cause });
    }
  }

  #connect(): Statements {
    const db = this.#database ? adoptSqlite(this.#database, this.#busyTimeout) : openSqlite('SqliteUserStore', this.#path as string, this.#busyTimeout);
    const t = this.#table;
    try {
      migrateUsers(db, t);
      const statement = (sql: string): StatementSync => prepare(db, sql);
      this.#statements = {
        insert: statement(`INSERT INTO ${t} (email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at)
          VALUES (:email, :emailCanonical, :username, :usernameCanonical, :name, :passwordHash, :isActive, :createdAt) RETURNING ${USER_COLUMNS}`),
        byId: statement(`SELECT ${USER_COLUMNS} FROM ${t} WHERE id = :id`),
        byLogin: statement(`SELECT ${USER_COLUMNS} FROM ${t} WHERE email_canonical = :login OR username_canonical = :login LIMIT 1`),
        setHash: statement(`UPDATE ${t} SET password_hash = :passwordHash WHERE id = :id`),
        setHashIf: statement(`UPDATE ${t} SET password_hash = :passwordHash WHERE id = :id AND password_hash = :expected`),
        setActive: statement(`UPDATE ${t} SET is_active = :isActive WHERE id = :id`),
        list: statement(`SELECT ${USER_COLUMNS} FROM ${t} ORDER BY id LIMIT :limit OFFSET :offset`),
      };
      this.#db = db;
      return this.#statements;
    } catch (error) {
      if (!this.#database) db.close();
      throw error;
    }
  }
}
