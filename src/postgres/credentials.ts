/**
 * Passkeys ({@link CredentialStore}) on `PostgresUserStore`'s `<table>_passkeys`: its migration
 * (version 5 of the accounts table's set), its statements, and one function per operation. Each
 * function checks its arguments (misuse: `TypeError`) and returns the work that the store runs
 * after its migration, inside its error handling. A malformed user id names no account: it reads
 * as absent, as in `getUserById`.
 *
 * A credential id registers once: the primary key decides (`ON CONFLICT DO NOTHING`, so no error
 * costs a pooled connection). The signature counter is stored in one conditional UPDATE, and
 * PostgreSQL re-checks its WHERE on the row it waited for: of parallel uses of one assertion, the
 * first stores the counter and the others find `counter < $2` false (SEC-83).
 *
 * @module postgres/credentials
 */
import { checkCredentialArguments, checkNewCredential, credentialFromRow } from '../credential-store.ts';
import type { NewPasskeyCredential, PasskeyCredential } from '../credential-store.ts';
import { ID } from './factors.ts';
import { CLOCK, toMs } from './pool.ts';
import type { PostgresPool, Row } from './pool.ts';
import { execute, preparedAll } from './prepared.ts';
import type { PreparedStatement } from './prepared.ts';

const OWNER = 'PostgresUserStore';
const COLUMNS = 'id, user_id, public_key, counter, transports, name, created_at, last_used_at';

/** The quoted names of the accounts table of `schema`.`table` and of its passkeys table. */
function names(schema: string, table: string) {
  return { t: `"${schema}"."${table}"`, passkeys: `"${schema}"."${table}_passkeys"`, index: `"${table}_passkeys_user_id"` };
}

/**
 * Migration 5 of the accounts table (issue 14, SEC-83): passkeys, in a table the account's deletion
 * empties. `seq` orders credentials made in one millisecond (oldest first).
 */
export function credentialTable(schema: string, table: string): string {
  const { t, passkeys, index } = names(schema, table);
  return `CREATE TABLE ${passkeys} (
      id text PRIMARY KEY,
      user_id bigint NOT NULL REFERENCES ${t} (id) ON DELETE CASCADE,
      public_key text NOT NULL,
      counter bigint NOT NULL CHECK (counter >= 0),
      transports text[] NOT NULL,
      name text NOT NULL,
      created_at bigint NOT NULL,
      last_used_at bigint,
      seq bigint GENERATED ALWAYS AS IDENTITY
    );
    CREATE INDEX ${index} ON ${passkeys} (user_id);`;
}

/** The passkey statements, named once per store (postgres/prepared). `$1` of a CLOCK statement is the test clock. */
export function credentialStatements(schema: string, table: string) {
  const { t, passkeys } = names(schema, table);
  return preparedAll({
    // For an existing account only; a taken id inserts nothing and returns no row.
    add: `${CLOCK} INSERT INTO ${passkeys} (${COLUMNS})
      SELECT $2::text, u.id, $4::text, $5::bigint, $6::text[], $7::text, clock.now, NULL FROM ${t} u, clock WHERE u.id = $3
      ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
    get: `SELECT ${COLUMNS} FROM ${passkeys} WHERE id = $1`,
    list: `SELECT ${COLUMNS} FROM ${passkeys} WHERE user_id = $1 ORDER BY created_at, seq`,
    // SEC-83's check and write as one statement; `found` reads the snapshot before it, to tell a
    // regression from no credential.
    use: `${CLOCK}, used AS (UPDATE ${passkeys} SET counter = $3, last_used_at = (SELECT now FROM clock)
        WHERE id = $2 AND (counter < $3 OR (counter = 0 AND $3 = 0)) RETURNING 1)
      SELECT EXISTS (SELECT 1 FROM used) AS ok, EXISTS (SELECT 1 FROM ${passkeys} WHERE id = $2) AS found`,
    rename: `UPDATE ${passkeys} SET name = $3 WHERE id = $2 AND user_id = $1`,
    remove: `DELETE FROM ${passkeys} WHERE id = $2 AND user_id = $1`,
  });
}

type CredentialSql = Readonly<Record<keyof ReturnType<typeof credentialStatements>, PreparedStatement>>;

/** What `PostgresUserStore` runs: its pool, the statements and its test clock (null: the database's) in. */
type Work<T> = (pool: PostgresPool, sql: CredentialSql, clock: number | null) => Promise<T>;

/** The work for a well-formed user id, or the absent answer for one that names no account. */
function forAccount<T>(userId: string, absent: T, work: Work<T>): Work<T> {
  return ID.test(userId) ? work : async () => absent;
}

const toCredential = (row: Row): PasskeyCredential => credentialFromRow(row, toMs, (value) => [...(value as string[])]);
const changed = (result: { rowCount: number | null }): boolean => result.rowCount === 1;

/** {@link CredentialStore.addCredential}: null for a taken id or no such account. */
export function addCredential(credential: NewPasskeyCredential): Work<PasskeyCredential | null> {
  checkNewCredential(`${OWNER}.addCredential`, credential);
  const { id, userId, publicKey, counter, transports, name } = credential;
  return forAccount(userId, null, async (pool, sql, clock) => {
    const row = (await execute(pool, sql.add, [clock, id, userId, publicKey, counter, [...transports], name])).rows[0];
    return row === undefined ? null : toCredential(row);
  });
}

/** {@link CredentialStore.getCredential}. */
export function getCredential(id: string): Work<PasskeyCredential | null> {
  checkCredentialArguments(`${OWNER}.getCredential`, { id });
  return async (pool, sql) => {
    const row = (await execute(pool, sql.get, [id])).rows[0];
    return row === undefined ? null : toCredential(row);
  };
}

/** {@link CredentialStore.listCredentials}: oldest first. */
export function listCredentials(userId: string): Work<PasskeyCredential[]> {
  checkCredentialArguments(`${OWNER}.listCredentials`, { userId });
  return forAccount(userId, [], async (pool, sql) => (await execute(pool, sql.list, [userId])).rows.map(toCredential));
}

/** {@link CredentialStore.useCredential}: one statement decides and tells a regression from no credential. */
export function useCredential(id: string, counter: number): Work<'ok' | 'regressed' | null> {
  checkCredentialArguments(`${OWNER}.useCredential`, { id, counter });
  return async (pool, sql, clock) => {
    const row = (await execute(pool, sql.use, [clock, id, counter])).rows[0];
    return row?.ok === true ? 'ok' : row?.found === true ? 'regressed' : null;
  };
}

/** {@link CredentialStore.renameCredential}: only the owner's. */
export function renameCredential(userId: string, id: string, name: string): Work<boolean> {
  checkCredentialArguments(`${OWNER}.renameCredential`, { userId, id, name });
  return forAccount(userId, false, async (pool, sql) => changed(await execute(pool, sql.rename, [userId, id, name])));
}

/** {@link CredentialStore.removeCredential}: only the owner's. */
export function removeCredential(userId: string, id: string): Work<boolean> {
  checkCredentialArguments(`${OWNER}.removeCredential`, { userId, id });
  return forAccount(userId, false, async (pool, sql) => changed(await execute(pool, sql.remove, [userId, id])));
}
