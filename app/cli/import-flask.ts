/**
 * The import of a Flask app's users (`import-flask-users`): each row becomes an account through
 * `Accounts.importUser`, its hash stored as is, so that its owner logs in with the old password
 * and the hash becomes argon2id at that login. A row with an email address keeps its username
 * beside it when it can; a row with only a username becomes an account with only a username
 * (the app's HTTP contract), which logs in by it. A row is skipped, with the reason, when it has neither a
 * usable email address nor a usable username, when its password column holds anything but a hash
 * the hasher verifies (never a plain-text password), or when its address or username is already
 * registered, in any form that is the same once canonical; so a second run imports nothing. A
 * clash names what clashed and with whom: the row's address or username, the account that has it,
 * and the row of this file that account came from, if any (never a hash). A large file reports
 * its progress as it goes (`onProgress`, every {@link PROGRESS_ROWS} rows or every second).
 *
 * @module app/cli/import-flask
 */
import { canonicalizeEmail, canonicalizeUsername } from 'latchkey';
import type { Accounts, UserStore } from 'latchkey';
import type { FlaskUserRow, FlaskUsers } from './flask-users.ts';
import { checkHashFormat } from './hash-format.ts';

export interface ImportReport {
  readonly imported: number;
  readonly skipped: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
  /** Rows imported with a change worth knowing (a username that could not be kept). */
  readonly notes: ReadonlyArray<{ readonly id: string; readonly note: string }>;
}

/** Progress is reported at least every this many rows, and at least once a second. */
export const PROGRESS_ROWS = 1000;
const PROGRESS_MS = 1000;

export interface ImportProgress {
  readonly done: number;
  readonly total: number;
  readonly imported: number;
  readonly skipped: number;
}

export interface ImportOptions {
  /** Called as rows are done, and once at the end (`done === total`). */
  readonly onProgress?: (progress: ImportProgress) => void;
  /** The clock of the once-a-second report. Default `Date.now`. */
  readonly now?: () => number;
}

/** Who already has an identifier: an account id, and the row of this file it was imported from. */
type Owners = Map<string, string>;

type Plan =
  | { readonly ok: true; readonly email: string | null; readonly username: string | null; readonly name: string; readonly passwordHash: string; readonly note: string | null }
  | { readonly ok: false; readonly reason: string };

/** Imports every row of `source`, one after another (the store decides uniqueness). */
export async function importFlaskUsers(source: FlaskUsers, accounts: Accounts, users: UserStore, options: ImportOptions = {}): Promise<ImportReport> {
  const now = options.now ?? Date.now;
  let imported = 0;
  const skipped: Array<{ id: string; reason: string }> = [];
  const notes: Array<{ id: string; note: string }> = [];
  const owners: Owners = new Map(); // account id → the row of this file it was imported from
  const total = source.rows.length;
  let done = 0;
  let reportedAt = now();
  const report = () => options.onProgress?.({ done, total, imported, skipped: skipped.length });
  for (const row of source.rows) {
    if (done > 0 && (done % PROGRESS_ROWS === 0 || now() - reportedAt >= PROGRESS_MS)) {
      report();
      reportedAt = now();
    }
    done++;
    const plan = await planRow(row, users, owners);
    if (!plan.ok) {
      skipped.push({ id: row.id, reason: plan.reason });
      continue;
    }
    const result = await accounts.importUser({
      email: plan.email ?? undefined,
      name: plan.name,
      username: plan.username ?? undefined,
      passwordHash: plan.passwordHash,
      isActive: row.isActive,
    });
    if (result.ok) {
      imported++;
      owners.set(result.user.id, row.id);
      if (plan.note !== null) notes.push({ id: row.id, note: plan.note });
    } else if (result.reason === 'exists') {
      const said = [plan.email && `the email ${plan.email}`, plan.username && `the username ${plan.username}`].filter(Boolean).join(' or ');
      skipped.push({ id: row.id, reason: `already registered: ${said} is taken` });
    } else {
      skipped.push({ id: row.id, reason: Object.entries(result.errors).map(([field, why]) => `${field}: ${why}`).join('; ') });
    }
  }
  report();
  return { imported, skipped, notes };
}

/** "already registered: the email ann@example.com is user 3's (imported from row 2 of this file)". */
function clash(what: string, value: string, userId: string, owners: Owners): string {
  const row = owners.get(userId);
  return `already registered: the ${what} ${value} is user ${userId}'s${row === undefined ? '' : ` (imported from row ${row} of this file)`}`;
}

/** What to store for one row, or why it is skipped. Reads the store; writes nothing. */
async function planRow(row: FlaskUserRow, users: UserStore, owners: Owners): Promise<Plan> {
  // Some tutorials have only `username`, and people type their address into it.
  const email = row.email ?? (row.username?.includes('@') ? row.username : null);
  if (email === null) return planUsernameOnly(row, users, owners);
  const canonical = canonicalizeEmail(email);
  if (!canonical.ok) return { ok: false, reason: canonical.reason };
  const hash = checkHashFormat(row.password);
  if (!hash.ok) return { ok: false, reason: hash.reason };
  const holder = await users.getUserByLogin(canonical.value);
  if (holder !== null) return { ok: false, reason: clash('email', email, holder.id, owners) };

  let username: string | null = null;
  let note: string | null = null;
  if (row.username !== null && row.username !== email) {
    const checked = canonicalizeUsername(row.username);
    if (checked.ok) {
      const other = await users.getUserByLogin(checked.value);
      if (other === null) username = row.username;
      else note = `imported without its username (${clash('username', row.username, other.id, owners).replace('already registered: ', '')})`;
    } else {
      // A username that is this same address says nothing more; anything else is worth a note.
      const asEmail = canonicalizeEmail(row.username);
      if (!asEmail.ok || asEmail.value !== canonical.value) note = `imported without its username (${checked.reason})`;
    }
  }
  const name = row.name ?? (row.username !== null && !row.username.includes('@') ? row.username : email.slice(0, email.lastIndexOf('@')).trim());
  return { ok: true, email, username, name, passwordHash: row.password as string, note };
}

/** A row without an address: its username is what its owner logs in with, so it must be usable. */
async function planUsernameOnly(row: FlaskUserRow, users: UserStore, owners: Owners): Promise<Plan> {
  if (row.username === null) return { ok: false, reason: 'neither an email address nor a username' };
  const checked = canonicalizeUsername(row.username);
  if (!checked.ok) return { ok: false, reason: `no email address, and the username cannot be kept (${checked.reason})` };
  const hash = checkHashFormat(row.password);
  if (!hash.ok) return { ok: false, reason: hash.reason };
  const holder = await users.getUserByLogin(checked.value);
  if (holder !== null) return { ok: false, reason: clash('username', row.username, holder.id, owners) };
  return { ok: true, email: null, username: row.username, name: row.name ?? row.username, passwordHash: row.password as string, note: null };
}
