/**
 * Where accounts live. The login core never owns the user model (it only calls `loadUser(id)`);
 * the accounts module does, through this small contract, so that an app can keep users in its
 * own table or database. `latchkey/sqlite` ships `SqliteUserStore`; the PostgreSQL one follows the
 * same conformance suite (`test/user-store-conformance.ts`).
 *
 * Uniqueness is the store's job, enforced by unique indexes on the canonical email and username,
 * not by a read before the write: two concurrent registrations of one address give exactly one
 * account and `null` to the other (security.md R-04; ASVS 15.4.2).
 *
 * @module accounts/user-store
 */

/** An account as stored. */
export interface UserRecord {
  /** Assigned by the store (an integer for SQL stores, as a string). */
  readonly id: string;
  /** The address as the user typed it after NFKC: where mail goes (SEC-18). */
  readonly email: string;
  /** The canonical form used for uniqueness and login. */
  readonly emailCanonical: string;
  readonly username: string | null;
  readonly usernameCanonical: string | null;
  readonly name: string;
  /** A PHC or legacy hash string; never a password. */
  readonly passwordHash: string;
  readonly isActive: boolean;
  /** ms since the epoch. */
  readonly createdAt: number;
}

/** What `createUser` takes: everything but the id and the timestamps. */
export interface NewUser {
  readonly email: string;
  readonly emailCanonical: string;
  readonly username: string | null;
  readonly usernameCanonical: string | null;
  readonly name: string;
  readonly passwordHash: string;
  readonly isActive?: boolean;
}

/** Accounts: six methods, `null` meaning absent; a failing backend rejects. */
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
}
