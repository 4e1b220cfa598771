/**
 * Second factors ({@link FactorStore}) on `PostgresUserStore`'s tables: their migration (version 4
 * of the accounts table's set), their statements, and one function per operation. Each function
 * checks its arguments (misuse: `TypeError`) and returns the work that the store runs after its
 * migration, inside its error handling. A malformed id names no account: it reads as absent, as in
 * `getUserById`.
 *
 * Every write that decides is one conditional statement, and PostgreSQL re-checks its WHERE on
 * the row it waited for: of parallel calls with one TOTP step, the first records it and the others
 * find `last_step < step` false (SEC-78); of parallel uses of one recovery code, the first DELETE
 * takes the row and the others find none (SEC-81). A new set of codes replaces the old one in a
 * transaction that first locks the account's row, so two regenerations at once leave one set.
 *
 * @module postgres/factors
 */
import { checkFactorArguments, totpFromRow, type TotpRecord } from '../factor-store.ts';
import { CLOCK, toMs, withTransaction } from './pool.ts';
import type { PostgresPool } from './pool.ts';
import { execute, preparedAll } from './prepared.ts';
import type { PreparedStatement } from './prepared.ts';

const OWNER = 'PostgresUserStore';
/** An account id as the contract passes it around: a BIGINT identity, as a string. */
export const ID = /^\d{1,18}$/;

/** The quoted names of the accounts table of `schema`.`table` and of its factor tables. */
function names(schema: string, table: string) {
  return { t: `"${schema}"."${table}"`, totp: `"${schema}"."${table}_totp"`, codes: `"${schema}"."${table}_recovery_codes"` };
}

/**
 * Migration 4 of the accounts table (issue 14, SEC-77, SEC-78, SEC-81): a TOTP record per account
 * and its recovery codes, as SHA-256s deleted when used, in tables the account's deletion empties.
 */
export function factorTables(schema: string, table: string): string {
  const { t, totp, codes } = names(schema, table);
  return `CREATE TABLE ${totp} (
      user_id bigint PRIMARY KEY REFERENCES ${t} (id) ON DELETE CASCADE,
      secret text NOT NULL,
      confirmed boolean NOT NULL DEFAULT false,
      last_step bigint CHECK (last_step >= 0),
      created_at bigint NOT NULL
    );
    CREATE TABLE ${codes} (
      user_id bigint NOT NULL REFERENCES ${t} (id) ON DELETE CASCADE,
      hash text NOT NULL,
      created_at bigint NOT NULL,
      PRIMARY KEY (user_id, hash)
    );`;
}

/** The factor statements, named once per store (postgres/prepared). `$1` of a CLOCK statement is the test clock. */
export function factorStatements(schema: string, table: string) {
  const { t, totp, codes } = names(schema, table);
  return preparedAll({
    getTotp: `SELECT secret, confirmed, last_step, created_at FROM ${totp} WHERE user_id = $1`,
    // Only for an existing account (no row from the SELECT: none inserted), and never over a
    // confirmed secret: the upsert's WHERE leaves a confirmed row as it is, and then no row counts.
    beginTotp: `${CLOCK} INSERT INTO ${totp} AS f (user_id, secret, confirmed, last_step, created_at)
      SELECT u.id, $3::text, false, NULL, clock.now FROM ${t} u, clock WHERE u.id = $2
      ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = NULL, created_at = excluded.created_at WHERE NOT f.confirmed`,
    confirmTotp: `UPDATE ${totp} SET confirmed = true, last_step = $3 WHERE user_id = $1 AND NOT confirmed AND secret = $2`,
    // One statement: the codes and the record go together.
    deleteTotp: `WITH codes AS (DELETE FROM ${codes} WHERE user_id = $1) DELETE FROM ${totp} WHERE user_id = $1`,
    useTotpStep: `UPDATE ${totp} SET last_step = $2 WHERE user_id = $1 AND confirmed AND (last_step IS NULL OR last_step < $2)`,
    lockUser: `SELECT id FROM ${t} WHERE id = $1 FOR NO KEY UPDATE`,
    deleteCodes: `DELETE FROM ${codes} WHERE user_id = $1`,
    insertCodes: `${CLOCK} INSERT INTO ${codes} (user_id, hash, created_at) SELECT $2::bigint, h, clock.now FROM clock, unnest($3::text[]) h`,
    useCode: `DELETE FROM ${codes} WHERE user_id = $1 AND hash = $2`,
    countCodes: `SELECT count(*)::int AS n FROM ${codes} WHERE user_id = $1`,
  });
}

type FactorSql = Readonly<Record<keyof ReturnType<typeof factorStatements>, PreparedStatement>>;

/** What `PostgresUserStore` runs: its pool, the statements and its test clock (null: the database's) in. */
type Work<T> = (pool: PostgresPool, sql: FactorSql, clock: number | null) => Promise<T>;

/** The work for a well-formed id, or the absent answer for one that names no account. */
function forAccount<T>(userId: string, absent: T, work: Work<T>): Work<T> {
  return ID.test(userId) ? work : async () => absent;
}

const changed = (result: { rowCount: number | null }): boolean => result.rowCount === 1;

/** {@link FactorStore.getTotp}. */
export function getTotp(userId: string): Work<TotpRecord | null> {
  checkFactorArguments(`${OWNER}.getTotp`, { userId });
  return forAccount(userId, null, async (pool, sql) => {
    const row = (await execute(pool, sql.getTotp, [userId])).rows[0];
    return row === undefined ? null : totpFromRow(row, (value) => value === true, toMs);
  });
}

/** {@link FactorStore.beginTotp}: false for a confirmed record, or no such account. */
export function beginTotp(userId: string, secret: string): Work<boolean> {
  checkFactorArguments(`${OWNER}.beginTotp`, { userId, secret });
  return forAccount(userId, false, async (pool, sql, clock) => changed(await execute(pool, sql.beginTotp, [clock, userId, secret])));
}

/** {@link FactorStore.confirmTotp}: one conditional UPDATE, so a replaced or confirmed secret matches nothing. */
export function confirmTotp(userId: string, secret: string, step: number): Work<boolean> {
  checkFactorArguments(`${OWNER}.confirmTotp`, { userId, secret, step });
  return forAccount(userId, false, async (pool, sql) => changed(await execute(pool, sql.confirmTotp, [userId, secret, step])));
}

/** {@link FactorStore.deleteTotp}. */
export function deleteTotp(userId: string): Work<boolean> {
  checkFactorArguments(`${OWNER}.deleteTotp`, { userId });
  return forAccount(userId, false, async (pool, sql) => changed(await execute(pool, sql.deleteTotp, [userId])));
}

/** {@link FactorStore.useTotpStep}: SEC-78's check and write as one statement. */
export function useTotpStep(userId: string, step: number): Work<boolean> {
  checkFactorArguments(`${OWNER}.useTotpStep`, { userId, step });
  return forAccount(userId, false, async (pool, sql) => changed(await execute(pool, sql.useTotpStep, [userId, step])));
}

/** {@link FactorStore.setRecoveryCodes}: lock the account, delete the old set, insert the new one (SEC-81). */
export function setRecoveryCodes(userId: string, hashes: readonly string[]): Work<void> {
  checkFactorArguments(`${OWNER}.setRecoveryCodes`, { userId, hashes });
  return forAccount(userId, undefined, (pool, sql, clock) => withTransaction(pool, async (client) => {
    if ((await execute(client, sql.lockUser, [userId])).rows.length === 0) return; // no such account
    await execute(client, sql.deleteCodes, [userId]);
    await execute(client, sql.insertCodes, [clock, userId, hashes]);
  }));
}

/** {@link FactorStore.useRecoveryCode}: the code is deleted; only the call whose DELETE took it gets true. */
export function useRecoveryCode(userId: string, hash: string): Work<boolean> {
  checkFactorArguments(`${OWNER}.useRecoveryCode`, { userId, hash });
  return forAccount(userId, false, async (pool, sql) => changed(await execute(pool, sql.useCode, [userId, hash])));
}

/** {@link FactorStore.countRecoveryCodes}. */
export function countRecoveryCodes(userId: string): Work<number> {
  checkFactorArguments(`${OWNER}.countRecoveryCodes`, { userId });
  return forAccount(userId, 0, async (pool, sql) => (await execute(pool, sql.countCodes, [userId])).rows[0]?.n as number);
}
