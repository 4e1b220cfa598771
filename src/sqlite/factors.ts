/**
 * Second factors ({@link FactorStore}) on `SqliteUserStore`'s tables (sqlite/user-schema, version
 * 4), one function per operation. Each checks its arguments (misuse: `TypeError`) and returns the
 * work that the store runs inside its error handling. A malformed id names no account: it reads as
 * absent, as in `getUserById`. Every write that decides is one conditional statement, which
 * SQLite's write lock makes atomic across processes on the file: a TOTP step is recorded only if
 * it is greater than the last one (SEC-78), a recovery code is used by deleting it (SEC-81).
 *
 * @module sqlite/factors
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkFactorArguments, totpFromRow, type TotpRecord } from '../factor-store.ts';
import { prepare } from './connection.ts';
import { transaction } from './schema.ts';
import { ID } from './user-schema.ts';

/** What `SqliteUserStore` runs: the statements and its clock in, a result out. */
type Work<T> = (st: FactorStatements, now: () => number) => T;

const OWNER = 'SqliteUserStore';

/** The factor statements on the accounts table `t`, prepared once per connection. */
export function prepareFactorStatements(db: DatabaseSync, t: string) {
  const statement = (sql: string): StatementSync => prepare(db, sql);
  return Object.freeze({
    db,
    getTotp: statement(`SELECT secret, confirmed, last_step, created_at FROM ${t}_totp WHERE user_id = :userId`),
    // Only for an existing account (no row from the SELECT: false), and never over a confirmed
    // secret: the upsert's WHERE leaves a confirmed row as it is, and then nothing changed.
    beginTotp: statement(`INSERT INTO ${t}_totp (user_id, secret, confirmed, last_step, created_at)
      SELECT id, :secret, 0, NULL, :now FROM ${t} WHERE id = :userId
      ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = NULL, created_at = excluded.created_at WHERE confirmed = 0`),
    confirmTotp: statement(`UPDATE ${t}_totp SET confirmed = 1, last_step = :step WHERE user_id = :userId AND confirmed = 0 AND secret = :secret`),
    deleteTotp: statement(`DELETE FROM ${t}_totp WHERE user_id = :userId`),
    useTotpStep: statement(`UPDATE ${t}_totp SET last_step = :step
      WHERE user_id = :userId AND confirmed = 1 AND (last_step IS NULL OR last_step < :step)`),
    deleteCodes: statement(`DELETE FROM ${t}_recovery_codes WHERE user_id = :userId`),
    // :hashes is a JSON array: one statement inserts the whole set, for an existing account only.
    insertCodes: statement(`INSERT INTO ${t}_recovery_codes (user_id, hash, created_at)
      SELECT u.id, h.value, :now FROM ${t} u, json_each(:hashes) h WHERE u.id = :userId`),
    useCode: statement(`DELETE FROM ${t}_recovery_codes WHERE user_id = :userId AND hash = :hash`),
    countCodes: statement(`SELECT count(*) AS n FROM ${t}_recovery_codes WHERE user_id = :userId`),
  });
}

export type FactorStatements = ReturnType<typeof prepareFactorStatements>;

/** The account's row id, or null for an id no account can have. */
const rowId = (userId: string): number | null => (ID.test(userId) ? Number(userId) : null);

/** {@link FactorStore.getTotp}. */
export function getTotp(userId: string): Work<TotpRecord | null> {
  checkFactorArguments(`${OWNER}.getTotp`, { userId });
  return (st) => {
    const row = st.getTotp.get({ userId: rowId(userId) });
    return row === undefined ? null : totpFromRow(row, (value) => value === 1, (value) => value as number);
  };
}

/** {@link FactorStore.beginTotp}: false for a confirmed record, or no such account. */
export function beginTotp(userId: string, secret: string): Work<boolean> {
  checkFactorArguments(`${OWNER}.beginTotp`, { userId, secret });
  return (st, now) => Number(st.beginTotp.run({ userId: rowId(userId), secret, now: now() }).changes) === 1;
}

/** {@link FactorStore.confirmTotp}: one conditional UPDATE, so a replaced or confirmed secret matches nothing. */
export function confirmTotp(userId: string, secret: string, step: number): Work<boolean> {
  checkFactorArguments(`${OWNER}.confirmTotp`, { userId, secret, step });
  return (st) => Number(st.confirmTotp.run({ userId: rowId(userId), secret, step }).changes) === 1;
}

/** {@link FactorStore.deleteTotp}: the record and the codes in one transaction. */
export function deleteTotp(userId: string): Work<boolean> {
  checkFactorArguments(`${OWNER}.deleteTotp`, { userId });
  return (st) => transaction(st.db, () => {
    st.deleteCodes.run({ userId: rowId(userId) });
    return Number(st.deleteTotp.run({ userId: rowId(userId) }).changes) === 1;
  });
}

/** {@link FactorStore.useTotpStep}: SEC-78's check and write as one statement. */
export function useTotpStep(userId: string, step: number): Work<boolean> {
  checkFactorArguments(`${OWNER}.useTotpStep`, { userId, step });
  return (st) => Number(st.useTotpStep.run({ userId: rowId(userId), step }).changes) === 1;
}

/** {@link FactorStore.setRecoveryCodes}: the old set deleted and the new one inserted in one transaction (SEC-81). */
export function setRecoveryCodes(userId: string, hashes: readonly string[]): Work<void> {
  checkFactorArguments(`${OWNER}.setRecoveryCodes`, { userId, hashes });
  const list = JSON.stringify(hashes);
  return (st, now) => transaction(st.db, () => {
    st.deleteCodes.run({ userId: rowId(userId) });
    st.insertCodes.run({ userId: rowId(userId), hashes: list, now: now() });
  });
}

/** {@link FactorStore.useRecoveryCode}: the code is deleted; only the call whose DELETE took it gets true. */
export function useRecoveryCode(userId: string, hash: string): Work<boolean> {
  checkFactorArguments(`${OWNER}.useRecoveryCode`, { userId, hash });
  return (st) => Number(st.useCode.run({ userId: rowId(userId), hash }).changes) === 1;
}

/** {@link FactorStore.countRecoveryCodes}. */
export function countRecoveryCodes(userId: string): Work<number> {
  checkFactorArguments(`${OWNER}.countRecoveryCodes`, { userId });
  return (st) => st.countCodes.get({ userId: rowId(userId) })?.n as number;
}
