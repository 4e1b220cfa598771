/**
 * The accounts table of `PostgresUserStore`: its migrations, with those of its second factors
 * (postgres/factors) and passkeys (postgres/credentials), and the statements the store runs on it.
 *
 * @module postgres/user-schema
 */
import { credentialTable } from './credentials.ts';
import * as factors from './factors.ts';
import { CLOCK } from './pool.ts';

/**
 * Migration `n` takes the table from version `n` to `n + 1`, versioned in `<table>_meta` as the
 * session tables are (postgres/schema). Append new ones; never edit one that has shipped.
 * Tables made before versioning have no `_meta` row, so they are version 0, and migration 1, the
 * table as it shipped then, finds them in place. `t` is the quoted table, `table` its bare name.
 */
export function userMigrations(t: string, schema: string, table: string): string[] {
  return [
    // Version 1: every account has an email address. No hint or security-question columns, by design (SEC-11).
    `CREATE TABLE IF NOT EXISTS ${t} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email text NOT NULL,
      email_canonical text NOT NULL,
      username text,
      username_canonical text,
      name text NOT NULL,
      password_hash text NOT NULL,
      is_active boolean NOT NULL DEFAULT true,
      created_at bigint NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS "${table}_email_canonical" ON ${t} (email_canonical);
    CREATE UNIQUE INDEX IF NOT EXISTS "${table}_username_canonical" ON ${t} (username_canonical);`,
    // Version 2: an email address, a username or both (Flask apps with only a username). The unique
    // indexes stay: NULLs are distinct in them, so they constrain only present identifiers.
    `ALTER TABLE ${t} ALTER COLUMN email DROP NOT NULL, ALTER COLUMN email_canonical DROP NOT NULL,
      ADD CONSTRAINT "${table}_email_or_username" CHECK (email_canonical IS NOT NULL OR username_canonical IS NOT NULL);`,
    // Version 3: whether the address is proven (issue 13, SEC-61). Existing accounts start
    // unverified: nothing has proven their addresses yet. A constant default adds the column
    // without rewriting the table (PostgreSQL 11+). The CHECK keeps an account without an address unverified.
    `ALTER TABLE ${t} ADD COLUMN email_verified boolean NOT NULL DEFAULT false,
      ADD CONSTRAINT "${table}_verified_email" CHECK (NOT email_verified OR email_canonical IS NOT NULL);`,
    // Version 4: second factors, in tables of their own (issue 14; postgres/factors).
    factors.factorTables(schema, table),
    // Version 5: passkeys, in a table of their own (issue 14, SEC-83; postgres/credentials).
    credentialTable(schema, table),
  ];
}

const COLUMNS = 'id, email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at, email_verified';

/** Every statement `PostgresUserStore` runs per call, on the quoted table `t`. */
export function userStatements(t: string) {
  return {
    insert: `${CLOCK} INSERT INTO ${t} (email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at, email_verified)
      SELECT $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::boolean, now, $9::boolean FROM clock
      ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    byIds: `SELECT ${COLUMNS} FROM ${t} WHERE id = ANY($1::bigint[])`,
    byLogin: `SELECT ${COLUMNS} FROM ${t} WHERE email_canonical = $1 OR username_canonical = $1 ORDER BY id LIMIT 1`,
    setPassword: `UPDATE ${t} SET password_hash = $2 WHERE id = $1`,
    setPasswordIf: `UPDATE ${t} SET password_hash = $2 WHERE id = $1 AND password_hash = $3`,
    setActive: `UPDATE ${t} SET is_active = $2 WHERE id = $1`,
    list: `SELECT ${COLUMNS} FROM ${t} ORDER BY id LIMIT $1 OFFSET $2`,
    markVerified: `UPDATE ${t} SET email_verified = true WHERE id = $1 AND email_canonical = $2`,
    changeEmail: `UPDATE ${t} SET email = $2, email_canonical = $3, email_verified = true WHERE id = $1`,
    ping: 'SELECT 1',
  };
}
