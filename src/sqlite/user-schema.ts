/**
 * The accounts table of `SqliteUserStore`, the tables of its second factors (sqlite/factors) and
 * passkeys (sqlite/credentials), and
 * their migrations, versioned like the session store's tables (sqlite/schema) in a `<table>_meta`
 * table of its own, so an existing table is upgraded in place, its rows and ids kept. No hint or security-question columns, by design
 * (SEC-11). The canonical email and username carry UNIQUE indexes; SQLite's unique
 * indexes let any number of rows hold NULL, so only present identifiers are unique.
 *
 * @module sqlite/user-schema
 */
import type { DatabaseSync, SQLOutputValue } from 'node:sqlite';
import { prepare } from './connection.ts';
import { applyMigrations } from './schema.ts';

/** The columns of versions 1 and 2, which migration 2 copies: fixed, as that migration is. */
const V2_COLUMNS = 'id, email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at';

/** An account id as the contract passes it around: an INTEGER PRIMARY KEY, as a string. */
export const ID = /^\d{1,18}$/;

/** Every column, in table order, and the order {@link userColumns} reads them in. */
export const USER_COLUMNS = `${V2_COLUMNS}, email_verified`;

/**
 * One row of {@link USER_COLUMNS}, returned as an array of values (`setReturnArrays`), under the
 * column names, as a literal: node:sqlite makes its row objects in dictionary mode, whose every
 * field read is a dictionary lookup, and a user is loaded on every authenticated request (as a
 * session is read: sqlite/schema's sessionFromValues).
 */
export function userColumns(row: object): Readonly<Record<string, SQLOutputValue>> {
  const v = row as readonly SQLOutputValue[]; // node:sqlite's types do not follow setReturnArrays
  return {
    id: v[0],
    email: v[1],
    email_canonical: v[2],
    username: v[3],
    username_canonical: v[4],
    name: v[5],
    password_hash: v[6],
    is_active: v[7],
    created_at: v[8],
    email_verified: v[9],
  } as Record<string, SQLOutputValue>;
}

/**
 * Migration `n` takes the table `t` from version `n` to `n + 1`. Append new ones; never edit one
 * that has shipped. Tables made before versioning have no `_meta` row, so they are version 0, and
 * migration 1, the table as it shipped then, finds them in place.
 */
const USER_MIGRATIONS: ReadonlyArray<(t: string) => string> = [
  // Version 1: every account has an email address.
  (t) => `
    CREATE TABLE IF NOT EXISTS ${t} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      email TEXT NOT NULL,
      email_canonical TEXT NOT NULL,
      username TEXT,
      username_canonical TEXT,
      name TEXT NOT NULL,
      password_hash TEXT NOT NULL,
      is_active INTEGER NOT NULL DEFAULT 1,
      created_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS ${t}_email_canonical ON ${t} (email_canonical);
    CREATE UNIQUE INDEX IF NOT EXISTS ${t}_username_canonical ON ${t} (username_canonical);
  `,
  // Version 2: an account has an email address, a username or both (Flask apps with only a
  // username). SQLite cannot drop a NOT NULL, so the table is rebuilt as
  // https://sqlite.org/lang_altertable.html#otheralter says: new table, copy, drop, rename. Ids
  // are copied, and AUTOINCREMENT's high-water mark too, so no id is ever handed out twice.
  (t) => `
    CREATE TABLE ${t}_new (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      email TEXT,
      email_canonical TEXT,
      username TEXT,
      username_canonical TEXT,
      name TEXT NOT NULL,
      password_hash TEXT NOT NULL,
      is_active INTEGER NOT NULL DEFAULT 1,
      created_at INTEGER NOT NULL,
      CHECK (email_canonical IS NOT NULL OR username_canonical IS NOT NULL)
    );
    INSERT INTO ${t}_new (${V2_COLUMNS}) SELECT ${V2_COLUMNS} FROM ${t};
    DELETE FROM sqlite_sequence WHERE name = '${t}_new';
    INSERT INTO sqlite_sequence (name, seq) SELECT '${t}_new', seq FROM sqlite_sequence WHERE name = '${t}';
    DROP TABLE ${t};
    ALTER TABLE ${t}_new RENAME TO ${t};
    CREATE UNIQUE INDEX ${t}_email_canonical ON ${t} (email_canonical);
    CREATE UNIQUE INDEX ${t}_username_canonical ON ${t} (username_canonical);
  `,
  // Version 3: whether the address is proven (issue 13, SEC-61). Existing accounts start
  // unverified: nothing has proven their addresses yet. Adding a column keeps every row, id and
  // reference in place. The CHECK keeps an account without an address unverified.
  (t) => `
    ALTER TABLE ${t} ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0
      CHECK (email_verified = 0 OR email_canonical IS NOT NULL);
  `,
  // Version 4: second factors (issue 14, SEC-77, SEC-78, SEC-81), in tables of their own that the
  // account's deletion empties (ON DELETE CASCADE, with foreign keys on, node:sqlite's default).
  // At most one TOTP record per account; the last used step refuses replays (SEC-78). A recovery
  // code is a SHA-256, deleted when used (SEC-81).
  (t) => `
    CREATE TABLE ${t}_totp (
      user_id INTEGER NOT NULL PRIMARY KEY REFERENCES ${t} (id) ON DELETE CASCADE,
      secret TEXT NOT NULL,
      confirmed INTEGER NOT NULL DEFAULT 0,
      last_step INTEGER,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE ${t}_recovery_codes (
      user_id INTEGER NOT NULL REFERENCES ${t} (id) ON DELETE CASCADE,
      hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (user_id, hash)
    ) WITHOUT ROWID;
  `,
  // Version 5: passkeys (issue 14, SEC-83), in a table of their own that the account's deletion
  // empties. The credential id is the primary key: a credential registers once. Transports are a
  // JSON array. The rowid orders credentials made in one millisecond.
  (t) => `
    CREATE TABLE ${t}_passkeys (
      id TEXT NOT NULL PRIMARY KEY,
      user_id INTEGER NOT NULL REFERENCES ${t} (id) ON DELETE CASCADE,
      public_key TEXT NOT NULL,
      counter INTEGER NOT NULL CHECK (counter >= 0),
      transports TEXT NOT NULL,
      name TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      last_used_at INTEGER
    );
    CREATE INDEX ${t}_passkeys_user_id ON ${t}_passkeys (user_id);
  `,
];

/** Creates or upgrades the accounts table `table`, under the write lock so two processes agree. */
export function migrateUsers(db: DatabaseSync, table: string): void {
  // With foreign keys on (node:sqlite's default), the rebuild's DROP TABLE would delete, or be
  // refused for, the rows of an app's tables that reference this one. The rebuild keeps every id,
  // so those references hold afterwards. The pragma is a no-op inside a transaction: set it here.
  const foreignKeys = prepare(db, 'PRAGMA foreign_keys').get()?.foreign_keys === 1;
  if (foreignKeys) db.exec('PRAGMA foreign_keys = OFF');
  try {
    applyMigrations(db, `${table}_meta`, USER_MIGRATIONS.map((migration) => migration(table)));
  } finally {
    if (foreignKeys) db.exec('PRAGMA foreign_keys = ON');
  }
}
