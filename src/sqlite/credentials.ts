/**
 * Passkeys ({@link CredentialStore}) on `SqliteUserStore`'s `<table>_passkeys` (sqlite/user-schema,
 * version 5), one function per operation. Each checks its arguments (misuse: `TypeError`) and
 * returns the work that the store runs inside its error handling. A malformed user id names no
 * account: it reads as absent, as in `getUserById`. Every write that decides is one conditional
 * statement, which SQLite's write lock makes atomic across processes on the file: a credential id
 * registers once (the primary key), a signature counter is stored only if greater (SEC-83).
 *
 * @module sqlite/credentials
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkCredentialArguments, checkNewCredential, credentialFromRow } from '../credential-store.ts';
import type { NewPasskeyCredential, PasskeyCredential } from '../credential-store.ts';
import { prepare } from './connection.ts';
import { ID } from './user-schema.ts';

/** What `SqliteUserStore` runs: the statements and its clock in, a result out. */
type Work<T> = (st: CredentialStatements, now: () => number) => T;

const OWNER = 'SqliteUserStore';
const COLUMNS = 'id, user_id, public_key, counter, transports, name, created_at, last_used_at';

/** The passkey statements on the accounts table `t`, prepared once per connection. */
export function prepareCredentialStatements(db: DatabaseSync, t: string) {
  const statement = (sql: string): StatementSync => prepare(db, sql);
  return Object.freeze({
    // For an existing account only (no row from the SELECT: none inserted); a taken id inserts
    // nothing and returns no row: the primary key decides (SEC-83).
    add: statement(`INSERT INTO ${t}_passkeys (${COLUMNS})
      SELECT :id, id, :publicKey, :counter, :transports, :name, :now, NULL FROM ${t} WHERE id = :userId
      ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`),
    get: statement(`SELECT ${COLUMNS} FROM ${t}_passkeys WHERE id = :id`),
    list: statement(`SELECT ${COLUMNS} FROM ${t}_passkeys WHERE user_id = :userId ORDER BY created_at, rowid`),
    // SEC-83's check and write as one statement: a counter that does not increase matches nothing.
    use: statement(`UPDATE ${t}_passkeys SET counter = :counter, last_used_at = :now
      WHERE id = :id AND (counter < :counter OR (counter = 0 AND :counter = 0))`),
    rename: statement(`UPDATE ${t}_passkeys SET name = :name WHERE id = :id AND user_id = :userId`),
    remove: statement(`DELETE FROM ${t}_passkeys WHERE id = :id AND user_id = :userId`),
  });
}

export type CredentialStatements = ReturnType<typeof prepareCredentialStatements>;

/** The account's row id, or null for an id no account can have. */
const rowId = (userId: string): number | null => (ID.test(userId) ? Number(userId) : null);

const toCredential = (row: Record<string, unknown>): PasskeyCredential =>
  credentialFromRow(row, (value) => value as number, (value) => JSON.parse(value as string) as string[]);

/** {@link CredentialStore.addCredential}: null for a taken id or no such account. */
export function addCredential(credential: NewPasskeyCredential): Work<PasskeyCredential | null> {
  checkNewCredential(`${OWNER}.addCredential`, credential);
  const { id, userId, publicKey, counter, name } = credential;
  const transports = JSON.stringify(credential.transports);
  return (st, now) => {
    const row = st.add.get({ id, userId: rowId(userId), publicKey, counter, transports, name, now: now() });
    return row === undefined ? null : toCredential(row);
  };
}

/** {@link CredentialStore.getCredential}. */
export function getCredential(id: string): Work<PasskeyCredential | null> {
  checkCredentialArguments(`${OWNER}.getCredential`, { id });
  return (st) => {
    const row = st.get.get({ id });
    return row === undefined ? null : toCredential(row);
  };
}

/** {@link CredentialStore.listCredentials}: oldest first. */
export function listCredentials(userId: string): Work<PasskeyCredential[]> {
  checkCredentialArguments(`${OWNER}.listCredentials`, { userId });
  return (st) => st.list.all({ userId: rowId(userId) }).map(toCredential);
}

/** {@link CredentialStore.useCredential}: one conditional UPDATE decides; a read only tells a regression from no credential. */
export function useCredential(id: string, counter: number): Work<'ok' | 'regressed' | null> {
  checkCredentialArguments(`${OWNER}.useCredential`, { id, counter });
  return (st, now) => {
    if (Number(st.use.run({ id, counter, now: now() }).changes) === 1) return 'ok';
    return st.get.get({ id }) === undefined ? null : 'regressed';
  };
}

/** {@link CredentialStore.renameCredential}: only the owner's. */
export function renameCredential(userId: string, id: string, name: string): Work<boolean> {
  checkCredentialArguments(`${OWNER}.renameCredential`, { userId, id, name });
  return (st) => Number(st.rename.run({ userId: rowId(userId), id, name }).changes) === 1;
}

/** {@link CredentialStore.removeCredential}: only the owner's. */
export function removeCredential(userId: string, id: string): Work<boolean> {
  checkCredentialArguments(`${OWNER}.removeCredential`, { userId, id });
  return (st) => Number(st.remove.run({ userId: rowId(userId), id }).changes) === 1;
}
