/**
 * `PostgresUserStore` (exported by `latchkey/postgres`): accounts in a PostgreSQL table, the
 * counterpart of `SqliteUserStore`. The canonical email and username carry UNIQUE indexes, so
 * concurrent registrations of one address, on any number of instances, give one row and `null`
 * to the rest (`ON CONFLICT DO NOTHING`, or SQLSTATE 23505), never a 500. Queries are parameterised
 * (SEC-73); `createdAt` is the database's clock unless a test injects one. Driver failures
 * become {@link StoreUnavailableError}.
 *
 * @module postgres/user-store
 */
import { requireNewEmail, requireNewUser, userFromRow } from '../user-store.ts';
import type { NewUser, UserRecord, UserStore } from '../user-store.ts';
import type { FactorStore, TotpRecord } from '../factor-store.ts';
import type { CredentialStore, NewPasskeyCredential, PasskeyCredential } from '../credential-store.ts';
import { ReadBatch } from '../lib/read-batch.ts';
import { readClock, requireClock, requireOptions, StoreKit } from '../lib/store-kit.ts';
import * as credentials from './credentials.ts';
import * as factors from './factors.ts';
import { ID } from './factors.ts';
import { applyMigrations, Migration } from './migrations.ts';
import { requireIdentifier, requirePool, sqlState, toMs } from './pool.ts';
import type { PostgresPool, Row } from './pool.ts';
import { execute, preparedAll } from './prepared.ts';
import type { PreparedStatement } from './prepared.ts';
import { userMigrations, userStatements } from './user-schema.ts';

/** Options of {@link PostgresUserStore}. */
export interface PostgresUserStoreOptions {
  /** The app's `pg.Pool`, set up as in the `PostgresStore` example. `close()` leaves it open. */
  readonly pool: PostgresPool;
  /** The schema of the table, which must exist. @default "public" */
  readonly schema?: string;
  /** The table's name, lower-case letters, digits and `_`. @default "users" */
  readonly table?: string;
  /** A test clock for `createdAt`, ms. Default: the database's clock. */
  readonly now?: () => number;
}

/** Zeros before an id's first significant digit. */
const LEADING_ZEROS = /^0+(?=\d)/;

function toUser(row: Row): UserRecord {
  return userFromRow(row, (value) => value === true, toMs);
}

/**
 * Accounts in PostgreSQL, their second factors ({@link FactorStore}, postgres/factors) and passkeys
 * ({@link CredentialStore}, postgres/credentials). The tables and their indexes are created, or
 * upgraded (postgres/user-schema), on first use.
 *
 * @example
 * ```ts
 * import { PostgresUserStore } from 'latchkey/postgres';
 * const users = new PostgresUserStore({ pool }); // the pool of the PostgresStore example
 * ```
 */
export class PostgresUserStore implements UserStore, FactorStore, CredentialStore {
  readonly #pool: PostgresPool;
  readonly #now: (() => number) | null;
  readonly #sql: Readonly<Record<keyof ReturnType<typeof userStatements>, PreparedStatement>>;
  readonly #factorSql: ReturnType<typeof factors.factorStatements>;
  readonly #credentialSql: ReturnType<typeof credentials.credentialStatements>;
  readonly #kit = new StoreKit('PostgresUserStore');
  readonly #migration: Migration;
  readonly #userReads = new ReadBatch<UserRecord>((ids) => this.#readUsers(ids));

  constructor(options: PostgresUserStoreOptions) {
    requireOptions('PostgresUserStore', options);
    const pool = requirePool('PostgresUserStore', options.pool);
    this.#pool = pool;
    const schema = requireIdentifier('PostgresUserStore', 'schema', options.schema ?? 'public', 63);
    // 44 + "_username_canonical" (19) = 63, PostgreSQL's limit for the index name.
    const table = requireIdentifier('PostgresUserStore', 'table', options.table ?? 'users', 44);
    this.#now = requireClock('PostgresUserStore', options.now);
    const t = `"${schema}"."${table}"`;
    // Named once here: unnamed, PostgreSQL would parse and plan each statement on every call (~360 µs
    // of database CPU per protected request with two SELECTs). Caveats: postgres/prepared.
    this.#sql = preparedAll(userStatements(t));
    this.#factorSql = factors.factorStatements(schema, table);
    this.#credentialSql = credentials.credentialStatements(schema, table);
    const versioned = Object.freeze({ meta: `"${schema}"."${table}_meta"`, lockKey: `latchkey:users:${schema}.${table}` });
    const migrations = userMigrations(t, schema, table);
    this.#migration = new Migration(() => applyMigrations(pool, versioned, migrations));
  }

  async createUser(user: NewUser): Promise<UserRecord | null> {
    requireNewUser('PostgresUserStore', user);
    const clock = this.#clock();
    return this.#run('createUser', async () => {
      try {
        const { rows } = await execute(this.#pool, this.#sql.insert, [
          clock, user.email, user.emailCanonical, user.username, user.usernameCanonical, user.name, user.passwordHash, user.isActive !== false,
          user.emailVerified === true,
        ]);
        // No row: a unique index refused it, the address or username is taken. ON CONFLICT
        // rather than an error, because pg.Pool destroys the connection of any query that fails.
        return rows[0] === undefined ? null : toUser(rows[0]);
      } catch (error) {
        if (sqlState(error) === '23505') return null; // unique_violation, should a conflict still surface as one
        throw error;
      }
    });
  }

  /**
   * Read with the other user reads of this turn of the event loop, in one statement
   * (lib/read-batch), as the sessions are: every authenticated request whose user is not cached
   * loads it, and a busy server would otherwise send one query, and wait for one round trip, per request.
   */
  async getUserById(id: string): Promise<UserRecord | null> {
    if (typeof id !== 'string' || !ID.test(id)) return null;
    // The key as the row's id reads back: `007` is user 7.
    return this.#userReads.load(id.replace(LEADING_ZEROS, ''));
  }

  #readUsers(ids: readonly string[]): Promise<Map<string, UserRecord>> {
    return this.#run('getUserById', async () => {
      const users = new Map<string, UserRecord>();
      for (const row of (await execute(this.#pool, this.#sql.byIds, [ids])).rows) {
        const user = toUser(row);
        users.set(user.id, user);
      }
      return users;
    });
  }

  async getUserByLogin(canonical: string): Promise<UserRecord | null> {
    if (typeof canonical !== 'string') throw new TypeError('PostgresUserStore.getUserByLogin: canonical must be a string');
    return this.#one('getUserByLogin', this.#sql.byLogin, [canonical]);
  }

  async updatePasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean> {
    if (typeof id !== 'string' || !ID.test(id)) return false;
    const sql = expected === undefined ? this.#sql.setPassword : this.#sql.setPasswordIf;
    const values = expected === undefined ? [id, passwordHash] : [id, passwordHash, expected];
    return this.#run('updatePasswordHash', async () => (await execute(this.#pool, sql, values)).rowCount === 1);
  }

  async setUserActive(id: string, isActive: boolean): Promise<boolean> {
    if (typeof id !== 'string' || !ID.test(id)) return false;
    return this.#run('setUserActive', async () =>
      (await execute(this.#pool, this.#sql.setActive, [id, isActive === true])).rowCount === 1,
    );
  }

  async listUsers(options: { limit?: number; offset?: number } = {}): Promise<UserRecord[]> {
    const whole = (value: number | undefined, fallback: number) => (Number.isFinite(value) ? Math.trunc(value as number) : fallback);
    const limit = Math.min(Math.max(whole(options.limit, 1000), 0), 100_000);
    const offset = Math.max(whole(options.offset, 0), 0);
    return this.#run('listUsers', async () =>
      (await execute(this.#pool, this.#sql.list, [limit, offset])).rows.map(toUser),
    );
  }

  async markEmailVerified(id: string, emailCanonical: string): Promise<boolean> {
    if (typeof emailCanonical !== 'string') throw new TypeError('PostgresUserStore.markEmailVerified: emailCanonical must be a string');
    if (typeof id !== 'string' || !ID.test(id)) return false;
    // One statement checks the address and writes (SEC-61); a row already verified still counts.
    return this.#run('markEmailVerified', async () =>
      (await execute(this.#pool, this.#sql.markVerified, [id, emailCanonical])).rowCount === 1,
    );
  }

  async changeEmail(id: string, email: string, emailCanonical: string): Promise<'changed' | 'taken' | 'missing'> {
    requireNewEmail('PostgresUserStore', email, emailCanonical);
    if (typeof id !== 'string' || !ID.test(id)) return 'missing';
    return this.#run('changeEmail', async () => {
      try {
        return (await execute(this.#pool, this.#sql.changeEmail, [id, email, emailCanonical])).rowCount === 1 ? 'changed' : 'missing';
      } catch (error) {
        // The unique index decided: another account has the address (SEC-63, R-04). An UPDATE has
        // no ON CONFLICT, so the conflict costs its pooled connection; it is rare (confirming a
        // change to an address someone took since), and a read before the write would not be race-free.
        if (sqlState(error) === '23505') return 'taken';
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

  /**
   * Creates the table and its unique indexes, or upgrades them, to the version this code knows
   * (kept in `<table>_meta`); idempotent, and safe from several instances at once (an advisory
   * lock serialises them). Current already: one query, no CREATE privilege needed. Every method
   * calls it on first use.
   */
  async migrate(): Promise<void> {
    this.#kit.checkOpen('migrate');
    return this.#migration.run((cause) => this.#kit.failure('migrate', cause));
  }

  /** Resolves when the database answers (and the table is in place). */
  async ping(): Promise<void> {
    await this.#run('ping', () => execute(this.#pool, this.#sql.ping, []));
  }

  /** Later calls reject; the pool is the app's and stays open. */
  async close(): Promise<void> {
    this.#kit.close();
  }

  #clock(): number | null {
    return this.#now === null ? null : readClock('PostgresUserStore', this.#now);
  }

  /** Runs a factor operation (postgres/factors) on the pool with the store's clock. */
  #factor<T>(operation: string, work: (pool: PostgresPool, sql: ReturnType<typeof factors.factorStatements>, clock: number | null) => Promise<T>): Promise<T> {
    const clock = this.#clock();
    return this.#run(operation, () => work(this.#pool, this.#factorSql, clock));
  }

  /** Runs a passkey operation (postgres/credentials) on the pool with the store's clock. */
  #credential<T>(operation: string, work: (pool: PostgresPool, sql: ReturnType<typeof credentials.credentialStatements>, clock: number | null) => Promise<T>): Promise<T> {
    const clock = this.#clock();
    return this.#run(operation, () => work(this.#pool, this.#credentialSql, clock));
  }

  async #one(operation: string, sql: PreparedStatement, values: unknown[]): Promise<UserRecord | null> {
    return this.#run(operation, async () => {
      const row = (await execute(this.#pool, sql, values)).rows[0];
      return row === undefined ? null : toUser(row);
    });
  }

  /** Runs one operation after the migration; failures become coded errors (lib/store-kit). */
  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    this.#kit.checkOpen(operation);
    try {
      if (!this.#migration.done) await this.migrate();
      return await work();
    } catch (cause) {
      throw this.#kit.failure(operation, cause);
    }
  }
}
