/**
 * `SqliteUserStore` (exported by `latchkey/sqlite`): accounts in a SQLite table, on `node:sqlite`.
 * The canonical email and username carry UNIQUE indexes, so concurrent registrations of one
 * address give one row and `null` to the rest, never a 500. Queries are
 * parameterised, prepared once (SEC-73). Driver failures become {@link StoreUnavailableError}.
 * The table is created, or upgraded in place, on first use (sqlite/user-schema).
 *
 * @module sqlite/user-store
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { requireNewEmail, requireNewUser, userFromRow } from '../user-store.ts';
import type { NewUser, UserRecord, UserStore } from '../user-store.ts';
import type { FactorStore, TotpRecord } from '../factor-store.ts';
import type { CredentialStore, NewPasskeyCredential, PasskeyCredential } from '../credential-store.ts';
import { requireMs } from '../duration.ts';
import { MAX_TIMER_MS, requireClock, requireOptions, StoreKit } from '../lib/store-kit.ts';
import { connectSqlite, prepare, requireSqliteSource, type SqliteSource } from './connection.ts';
import * as credentials from './credentials.ts';
import * as factors from './factors.ts';
import { ID, migrateUsers, USER_COLUMNS, userColumns } from './user-schema.ts';

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
/** Whether a unique index refused the write: an address or username is taken. */
const isUniqueViolation = (error: unknown): boolean => UNIQUE_VIOLATIONS.has((error as { errcode?: number }).errcode ?? 0);

interface Statements {
  insert: StatementSync;
  byId: StatementSync;
  byLogin: StatementSync;
  setHash: StatementSync;
  setHashIf: StatementSync;
  setActive: StatementSync;
  list: StatementSync;
  markVerified: StatementSync;
  changeEmail: StatementSync;
  factors: factors.FactorStatements;
  credentials: credentials.CredentialStatements;
}

/** A user from a row of the statements that return users (arrays of USER_COLUMNS). */
function toUser(row: object): UserRecord {
  return userFromRow(userColumns(row), (value) => value === 1, (value) => value as number);
}

/**
 * Accounts in SQLite, their second factors ({@link FactorStore}, sqlite/factors) and passkeys
 * ({@link CredentialStore}, sqlite/credentials).
 *
 * @example
 * ```ts
 * import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';
 * const users = new SqliteUserStore({ path: './data/app.db' });
 * ```
 */
export class SqliteUserStore implements UserStore, FactorStore, CredentialStore {
  readonly #source: SqliteSource;
  readonly #table: string;
  readonly #busyTimeout: number;
  readonly #now: () => number;
  readonly #kit = new StoreKit('SqliteUserStore');
  #db: DatabaseSync | null = null;
  #statements: Statements | null = null;

  constructor(options: SqliteUserStoreOptions) {
    requireOptions('SqliteUserStore', options);
    const table = options.table ?? 'users';
    if (typeof table !== 'string' || !IDENTIFIER.test(table)) throw new TypeError(`SqliteUserStore: table must match ${IDENTIFIER}`);
    this.#busyTimeout = requireMs('SqliteUserStore: busyTimeout', options.busyTimeout ?? 5000, 0, MAX_TIMER_MS);
    this.#now = requireClock('SqliteUserStore', options.now) ?? Date.now;
    this.#table = table;
    // Last: a missing folder is a coded error, after every misuse has had its TypeError.
    this.#source = requireSqliteSource('SqliteUserStore', options);
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
          emailVerified: user.emailVerified === true ? 1 : 0,
          createdAt: this.#now(),
        });
        return toUser(row as object); // RETURNING gives the inserted row
      } catch (error) {
        // The unique index decided: the email or username is taken.
        if (isUniqueViolation(error)) return null;
        throw error;
      }
    });
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    if (typeof id !== 'string' || !ID.test(id)) return null;
    return this.#run('getUserById', (st) => {
      const row = st.byId.get({ id: Number(id) });
      return row ? toUser(row) : null;
    });
  }

  async getUserByLogin(canonical: string): Promise<UserRecord | null> {
    return this.#run('getUserByLogin', (st) => {
      const row = st.byLogin.get({ login: canonical });
      return row ? toUser(row) : null;
    });
  }

  async updatePasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    return this.#run('updatePasswordHash', (st) => {
      const result = expected === undefined
        ? st.setHash.run({ id: Number(id), passwordHash })
        : st.setHashIf.run({ id: Number(id), passwordHash, expected });
      return Number(result.changes) === 1;
    });
  }

  async setUserActive(id: string, isActive: boolean): Promise<boolean> {
    if (!ID.test(id)) return false;
    return this.#run('setUserActive', (st) => Number(st.setActive.run({ id: Number(id), isActive: isActive ? 1 : 0 }).changes) === 1);
  }

  async listUsers(options: { limit?: number; offset?: number } = {}): Promise<UserRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 1000), 0), 100_000);
    const offset = Math.max(Math.trunc(options.offset ?? 0), 0);
    return this.#run('listUsers', (st) => st.list.all({ limit, offset }).map(toUser));
  }

  async markEmailVerified(id: string, emailCanonical: string): Promise<boolean> {
    if (typeof emailCanonical !== 'string') throw new TypeError('SqliteUserStore.markEmailVerified: emailCanonical must be a string');
    if (typeof id !== 'string' || !ID.test(id)) return false;
    // One statement checks the address and writes (SEC-61). SQLite counts a matched row as
    // changed even when it was verified already, which the contract wants: true.
    return this.#run('markEmailVerified', (st) => Number(st.markVerified.run({ id: Number(id), emailCanonical }).changes) === 1);
  }

  async changeEmail(id: string, email: string, emailCanonical: string): Promise<'changed' | 'taken' | 'missing'> {
    requireNewEmail('SqliteUserStore', email, emailCanonical);
    if (typeof id !== 'string' || !ID.test(id)) return 'missing';
    return this.#run('changeEmail', (st) => {
      try {
        return Number(st.changeEmail.run({ id: Number(id), email, emailCanonical }).changes) === 1 ? 'changed' : 'missing';
      } catch (error) {
        // The unique index decided: another account has the address (SEC-63, R-04).
        if (isUniqueViolation(error)) return 'taken';
        throw error;
      }
    });
  }

  async getTotp(userId: string): Promise<TotpRecord | null> {
    return this.#factor('getTotp', factors.getTotp(userId));
  }

  async beginTotp(userId: string, secret: string): Promise<boolean> {
    return this.#factor('beginTotp', factors.beginTotp(userId, secret));
  }

  async confirmTotp(userId: string, secret: string, step: number): Promise<boolean> {
    return this.#factor('confirmTotp', factors.confirmTotp(userId, secret, step));
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return this.#factor('deleteTotp', factors.deleteTotp(userId));
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.#factor('useTotpStep', factors.useTotpStep(userId, step));
  }

  async setRecoveryCodes(userId: string, hashes: readonly string[]): Promise<void> {
    return this.#factor('setRecoveryCodes', factors.setRecoveryCodes(userId, hashes));
  }

  async useRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.#factor('useRecoveryCode', factors.useRecoveryCode(userId, hash));
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    return this.#factor('countRecoveryCodes', factors.countRecoveryCodes(userId));
  }

  async addCredential(credential: NewPasskeyCredential): Promise<PasskeyCredential | null> {
    return this.#credential('addCredential', credentials.addCredential(credential));
  }

  async getCredential(id: string): Promise<PasskeyCredential | null> {
    return this.#credential('getCredential', credentials.getCredential(id));
  }

  async listCredentials(userId: string): Promise<PasskeyCredential[]> {
    return this.#credential('listCredentials', credentials.listCredentials(userId));
  }

  async useCredential(id: string, counter: number): Promise<'ok' | 'regressed' | null> {
    return this.#credential('useCredential', credentials.useCredential(id, counter));
  }

  async renameCredential(userId: string, id: string, name: string): Promise<boolean> {
    return this.#credential('renameCredential', credentials.renameCredential(userId, id, name));
  }

  async removeCredential(userId: string, id: string): Promise<boolean> {
    return this.#credential('removeCredential', credentials.removeCredential(userId, id));
  }

  /** Resolves when the database answers. */
  async ping(): Promise<void> {
    await this.#run('ping', (st) => st.byId.get({ id: 0 }));
  }

  /** Closes the file it opened (an app-owned connection stays open). */
  async close(): Promise<void> {
    if (!this.#kit.close()) return;
    if (this.#db !== null && this.#source.database === null) this.#db.close();
    this.#db = null;
    this.#statements = null;
  }

  /** Runs one operation; failures become coded errors (lib/store-kit). */
  async #run<T>(operation: string, work: (statements: Statements) => T): Promise<T> {
    this.#kit.checkOpen(operation);
    try {
      return work(this.#statements ?? this.#connect());
    } catch (cause) {
      throw this.#kit.failure(operation, cause);
    }
  }

  /** Runs a factor operation (sqlite/factors) with the store's clock. */
  #factor<T>(operation: string, work: (st: factors.FactorStatements, now: () => number) => T): Promise<T> {
    return this.#run(operation, (st) => work(st.factors, this.#now));
  }

  /** Runs a passkey operation (sqlite/credentials) with the store's clock. */
  #credential<T>(operation: string, work: (st: credentials.CredentialStatements, now: () => number) => T): Promise<T> {
    return this.#run(operation, (st) => work(st.credentials, this.#now));
  }

  /** Opens (or adopts) the connection, migrates and prepares: once, on first use. */
  #connect(): Statements {
    const t = this.#table;
    const { db, prepared } = connectSqlite('SqliteUserStore', this.#source, this.#busyTimeout, (db): Statements => {
      migrateUsers(db, t);
      const statement = (sql: string): StatementSync => prepare(db, sql);
      // Rows of users as arrays of values, read by userColumns.
      const users = (sql: string): StatementSync => prepare(db, sql, 'arrays');
      return {
        insert: users(`INSERT INTO ${t} (email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at, email_verified)
          VALUES (:email, :emailCanonical, :username, :usernameCanonical, :name, :passwordHash, :isActive, :createdAt, :emailVerified) RETURNING ${USER_COLUMNS}`),
        byId: users(`SELECT ${USER_COLUMNS} FROM ${t} WHERE id = :id`),
        byLogin: users(`SELECT ${USER_COLUMNS} FROM ${t} WHERE email_canonical = :login OR username_canonical = :login LIMIT 1`),
        setHash: statement(`UPDATE ${t} SET password_hash = :passwordHash WHERE id = :id`),
        setHashIf: statement(`UPDATE ${t} SET password_hash = :passwordHash WHERE id = :id AND password_hash = :expected`),
        setActive: statement(`UPDATE ${t} SET is_active = :isActive WHERE id = :id`),
        list: users(`SELECT ${USER_COLUMNS} FROM ${t} ORDER BY id LIMIT :limit OFFSET :offset`),
        markVerified: statement(`UPDATE ${t} SET email_verified = 1 WHERE id = :id AND email_canonical = :emailCanonical`),
        changeEmail: statement(`UPDATE ${t} SET email = :email, email_canonical = :emailCanonical, email_verified = 1 WHERE id = :id`),
        factors: factors.prepareFactorStatements(db, t),
        credentials: credentials.prepareCredentialStatements(db, t),
      };
    });
    this.#db = db;
    this.#statements = prepared;
    return prepared;
  }
}
