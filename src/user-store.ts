/**
 * Where accounts live. The login core never owns the user model (it only calls `loadUser(id)`);
 * the accounts module does, through this small contract, so that an app can keep users in its
 * own table or database. `latchkey/sqlite` ships `SqliteUserStore`; the PostgreSQL one follows the
 * same conformance suite (`describeUserStoreConformance` in `latchkey/testing`).
 *
 * Uniqueness is the store's job, enforced by unique indexes on the canonical email and username,
 * not by a read before the write: two concurrent registrations of one address give exactly one
 * account and `null` to the other (R-04; ASVS 15.4.2).
 *
 * An account has an email address, a username, or both (the app's HTTP contract: Flask apps with only a
 * username import as they are). A store refuses one with neither with a `TypeError`.
 *
 * Whether the address is proven is the store's too (`emailVerified`), and it belongs to one
 * address: `markEmailVerified` names the canonical address the proof was for, so a link mailed to
 * an address the account no longer has verifies nothing (SEC-61), and `changeEmail` replaces the
 * address under the same unique index as registration (SEC-63, R-04).
 *
 * @module user-store
 */

/** An account as stored. */
export interface UserRecord {
  /** Assigned by the store (an integer for SQL stores, as a string). */
  readonly id: string;
  /** The address as the user typed it after NFKC: where mail goes (SEC-18); null for a username-only account. */
  readonly email: string | null;
  /** The canonical form used for uniqueness and login; null exactly when `email` is. */
  readonly emailCanonical: string | null;
  /** The username as typed after NFKC; null when the account has none (then it has an email). */
  readonly username: string | null;
  readonly usernameCanonical: string | null;
  readonly name: string;
  /** A PHC or legacy hash string; never a password. */
  readonly passwordHash: string;
  readonly isActive: boolean;
  /**
   * Whether the owner proved they receive mail at `email` (a verification or email-change link,
   * or a password reset, SEC-60/61/63). False for new and migrated accounts unless created so, and
   * always false for an account without an email address.
   */
  readonly emailVerified: boolean;
  /** ms since the epoch. */
  readonly createdAt: number;
}

/** What `createUser` takes: everything but the id and the timestamps. */
export interface NewUser {
  readonly email: string | null;
  readonly emailCanonical: string | null;
  readonly username: string | null;
  readonly usernameCanonical: string | null;
  readonly name: string;
  readonly passwordHash: string;
  readonly isActive?: boolean;
  /** Created with a proven address (an import of verified accounts); needs an email. @default false */
  readonly emailVerified?: boolean;
}

/**
 * Checks what a store is asked to insert: each identifier given with its canonical form, and at
 * least one of them, so that every account can sign in and is found by {@link loginKey}.
 * Throws `TypeError` (misuse: `Accounts` never sends such a user).
 */
export function requireNewUser(store: string, user: NewUser): void {
  const pair = (typed: unknown, canonical: unknown) =>
    (typed === null && canonical === null) || (typeof typed === 'string' && typeof canonical === 'string' && canonical !== '');
  if (typeof user !== 'object' || user === null) throw new TypeError(`${store}.createUser: user must be an object`);
  if (!pair(user.email, user.emailCanonical)) throw new TypeError(`${store}.createUser: email and emailCanonical must both be strings or both be null`);
  if (!pair(user.username, user.usernameCanonical)) throw new TypeError(`${store}.createUser: username and usernameCanonical must both be strings or both be null`);
  if (user.emailCanonical === null && user.usernameCanonical === null) throw new TypeError(`${store}.createUser: an account needs an email address or a username`);
  if (user.emailVerified !== undefined && typeof user.emailVerified !== 'boolean') throw new TypeError(`${store}.createUser: emailVerified must be a boolean`);
  if (user.emailVerified === true && user.emailCanonical === null) throw new TypeError(`${store}.createUser: an account without an email address cannot have it verified`);
}

/**
 * Checks the address `changeEmail` is given: both forms non-empty strings (an account keeps an
 * address once it has one). Throws `TypeError` (misuse: `Accounts` canonicalizes before calling).
 */
export function requireNewEmail(store: string, email: unknown, emailCanonical: unknown): void {
  if (typeof email !== 'string' || email === '' || typeof emailCanonical !== 'string' || emailCanonical === '') {
    throw new TypeError(`${store}.changeEmail: email and emailCanonical must be non-empty strings`);
  }
}

/** The canonical identifier an account is found by: its email's, or its username's when it has no email. */
export function loginKey(user: Pick<UserRecord, 'id' | 'emailCanonical' | 'usernameCanonical'>): string {
  const key = user.emailCanonical ?? user.usernameCanonical;
  if (key === null) throw new TypeError(`account ${user.id} has neither an email address nor a username`);
  return key;
}

/** Accounts: eight methods, `null` meaning absent; a failing backend rejects. */
export interface UserStore {
  /** Inserts an account; null when its canonical email or username is taken. */
  createUser(user: NewUser): Promise<UserRecord | null>;
  getUserById(id: string): Promise<UserRecord | null>;
  /** The account whose canonical email or canonical username is `canonical`. */
  getUserByLogin(canonical: string): Promise<UserRecord | null>;
  /**
   * Replaces the password hash; with `expected`, only if the stored hash is still that one
   * (a rehash racing a password change must not undo it). True when a row changed.
   */
  updatePasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean>;
  /** Activates or deactivates an account; true when it exists. */
  setUserActive(id: string, isActive: boolean): Promise<boolean>;
  /** Accounts in id order, for admin tools. */
  listUsers(options?: { limit?: number; offset?: number }): Promise<UserRecord[]>;
  /**
   * Marks the address verified, only if the account's canonical email is still `emailCanonical`:
   * a link issued for an address the account has since changed proves nothing about the current
   * one (SEC-61), and the check and the write are one statement, so a change in between cannot
   * slip through. True when the account has that address (now verified, or already so); false
   * for another address, no address, or no such account.
   */
  markEmailVerified(id: string, emailCanonical: string): Promise<boolean>;
  /**
   * Replaces the address and its canonical form and marks it verified: the owner has just proven
   * it by confirming a link mailed there (SEC-63). The unique index on the canonical email decides,
   * not a read before the write, so of two accounts changing to one address at once exactly one
   * gets it: `taken` for the other, its row unchanged. `missing` when there is no such account.
   * Throws `TypeError` unless both forms are non-empty strings.
   */
  changeEmail(id: string, email: string, emailCanonical: string): Promise<'changed' | 'taken' | 'missing'>;
}

/** The methods of a {@link UserStore}, for the deadline guard. */
export const USER_STORE_METHODS = [
  'createUser', 'getUserById', 'getUserByLogin', 'updatePasswordHash', 'setUserActive', 'listUsers', 'markEmailVerified', 'changeEmail',
] as const satisfies readonly (keyof UserStore)[];

/**
 * The {@link UserRecord} of a row of the SQL stores' users table (snake_case columns), frozen.
 * The column types are each database's: `flag` reads a boolean column (SQLite's 0/1, PostgreSQL's
 * boolean) and `ms` a timestamp column (SQLite's integer, PostgreSQL's bigint as a string).
 */
export function userFromRow(row: Readonly<Record<string, unknown>>, flag: (value: unknown) => boolean, ms: (value: unknown) => number): UserRecord {
  return Object.freeze({
    id: String(row.id),
    email: (row.email as string | null) ?? null,
    emailCanonical: (row.email_canonical as string | null) ?? null,
    username: (row.username as string | null) ?? null,
    usernameCanonical: (row.username_canonical as string | null) ?? null,
    name: row.name as string,
    passwordHash: row.password_hash as string,
    isActive: flag(row.is_active),
    emailVerified: flag(row.email_verified),
    createdAt: ms(row.created_at),
  });
}
