/**
 * Reading the users of a Flask app's database, as the Flask-Login tutorials make it with
 * Flask-SQLAlchemy: a table `user` (the model class `User`; `users` is accepted too) with `id`,
 * `email` and/or `username`, an optional `name`, and the werkzeug hash in `password` or
 * `password_hash`. The file is opened read-only and only inspected (PRAGMA table_info) and read;
 * nothing is ever written to it.
 *
 * @module app/cli/flask-users
 */
import { statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { SQLOutputValue } from 'node:sqlite';
import { CliError } from './errors.ts';

/** One row as found, text columns decoded; absent or empty values are null. */
export interface FlaskUserRow {
  readonly id: string;
  readonly email: string | null;
  readonly username: string | null;
  readonly name: string | null;
  /** The raw value of the password column: usually a string, null when empty. */
  readonly password: unknown;
  /** From an `active` or `is_active` column when there is one; true otherwise. */
  readonly isActive: boolean;
}

export interface FlaskUsers {
  readonly table: string;
  readonly passwordColumn: string;
  readonly rows: readonly FlaskUserRow[];
}

const TABLES = ['user', 'users'];
const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text from a TEXT or BLOB column (Flask-Bcrypt's bytes end up as BLOBs); null when empty or not text. */
function text(value: SQLOutputValue | undefined): string | null {
  let result: string | null = null;
  if (typeof value === 'string') result = value;
  else if (value instanceof Uint8Array) {
    try {
      result = utf8.decode(value);
    } catch {
      return null;
    }
  }
  return result === null || result.trim() === '' ? null : result;
}

/** A row id for messages: control characters (terminal escapes) shown as `?`. */
function printable(value: string): string {
  return value.replace(/[\p{Cc}\p{Cf}]/gu, '?').slice(0, 40);
}

function truthy(value: SQLOutputValue | undefined): boolean {
  if (value === null || value === undefined) return true; // no value: the app's default, active
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) !== 0;
  if (typeof value === 'string') return !/^(0|false|f|no|n|off)$/i.test(value.trim());
  return true;
}

/**
 * Reads the user table of the SQLite file at `path`. Throws {@link CliError} (status 1) when the
 * file is missing, not SQLite, or has no usable user table.
 */
export function readFlaskUsers(path: string): FlaskUsers {
  const fail = (why: string): never => {
    throw new CliError(`import-flask-users: ${path}: ${why}`);
  };
  try {
    if (!statSync(path).isFile()) fail('not a file');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    fail(code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (error as Error).message})`);
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (error) {
    return fail(`cannot open it (${(error as Error).message})`);
  }
  try {
    let tables: string[];
    try {
      tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all().map((row) => String(row.name));
    } catch (error) {
      return fail(`not a SQLite database (${(error as Error).message})`);
    }
    const table = TABLES.map((wanted) => tables.find((name) => name.toLowerCase() === wanted)).find((name) => name !== undefined);
    if (table === undefined) {
      const found = tables.filter((name) => !name.startsWith('sqlite_'));
      return fail(`no table named "user" or "users" (tables: ${found.length === 0 ? 'none' : found.slice(0, 10).join(', ')})`);
    }
    const columns = new Map<string, string>(); // lower-case name → name as declared
    for (const row of db.prepare(`PRAGMA table_info(${quote(table)})`).all()) columns.set(String(row.name).toLowerCase(), String(row.name));
    const column = (...names: string[]): string | null => names.map((n) => columns.get(n)).find((n) => n !== undefined) ?? null;
    const email = column('email');
    const username = column('username');
    const name = column('name');
    const password = column('password_hash', 'password');
    const active = column('is_active', 'active');
    const id = column('id');
    if (email === null && username === null) fail(`table "${table}" has neither an "email" nor a "username" column`);
    if (password === null) fail(`table "${table}" has neither a "password_hash" nor a "password" column`);
    const select = [
      `${id === null ? 'rowid' : quote(id)} AS id`,
      `${email === null ? 'NULL' : quote(email)} AS email`,
      `${username === null ? 'NULL' : quote(username)} AS username`,
      `${name === null ? 'NULL' : quote(name)} AS name`,
      `${quote(password as string)} AS password`,
      `${active === null ? 'NULL' : quote(active)} AS active`,
    ].join(', ');
    const rows = db.prepare(`SELECT ${select} FROM ${quote(table)} ORDER BY 1`).all().map((row): FlaskUserRow => ({
      id: printable(String(row.id)),
      email: text(row.email),
      username: text(row.username),
      name: text(row.name),
      password: row.password instanceof Uint8Array ? (text(row.password) ?? row.password) : row.password === '' ? null : row.password,
      isActive: truthy(row.active),
    }));
    return { table, passwordColumn: password as string, rows };
  } catch (error) {
    if (error instanceof CliError) throw error;
    return fail(`cannot read it (${(error as Error).message})`);
  } finally {
    db.close();
  }
}
