/**
 * Where a user's passkeys live (issue 14, SEC-83): WebAuthn credentials, a capability
 * of the user stores as the {@link FactorStore} is. `SqliteUserStore` and `PostgresUserStore`
 * implement it in a `<users table>_passkeys` table that references the accounts table, so deleting
 * an account deletes its passkeys.
 *
 * **A credential registers once.** The credential id is the table's primary key: of two
 * registrations of one id, the unique key keeps the first and the second gets null.
 *
 * **The signature counter (SEC-83, WebAuthn §6.1.1, §7.2 step 21).** `useCredential` stores a
 * greater counter in one conditional UPDATE, so of parallel uses of one assertion (a replay)
 * exactly one passes; a counter that does not increase means the authenticator may have been
 * cloned and changes nothing. An authenticator without a counter always sends 0: 0 after 0 passes.
 *
 * The conformance suite `describeCredentialStoreConformance` (`latchkey/testing`) runs unchanged
 * against every implementation.
 *
 * @module credential-store
 */
import { checkUserId } from './token-store.ts';

/** A WebAuthn credential (a passkey) as stored (SEC-83). Binary values as base64url. */
export interface PasskeyCredential {
  /** The credential id, base64url (1..1366 chars: WebAuthn caps it at 1023 bytes). */
  readonly id: string;
  readonly userId: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  /** The signature counter (a non-negative safe integer). */
  readonly counter: number;
  /** e.g. `['internal', 'hybrid']`, each `/^[a-z-]{1,32}$/`, at most 8. */
  readonly transports: readonly string[];
  /** 1..100 characters, chosen by the user. */
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

/** A credential to store: the store sets `createdAt` and `lastUsedAt`. */
export type NewPasskeyCredential = Omit<PasskeyCredential, 'createdAt' | 'lastUsedAt'>;

/** A user's passkeys: six methods, `null` meaning absent; a failing backend rejects. */
export interface CredentialStore {
  /** Stores a credential; null when its id is taken (the unique key decides: a credential registers once), or the account does not exist. */
  addCredential(credential: NewPasskeyCredential): Promise<PasskeyCredential | null>;
  getCredential(id: string): Promise<PasskeyCredential | null>;
  /** The user's credentials, oldest first. */
  listCredentials(userId: string): Promise<PasskeyCredential[]>;
  /**
   * After a verified assertion: atomically, when `counter` is greater than the stored one (or both are 0,
   * an authenticator without a counter), stores it and `lastUsedAt = now` and answers 'ok'; otherwise
   * answers 'regressed' and changes nothing (a possible clone, SEC-83); null when no such credential.
   */
  useCredential(id: string, counter: number): Promise<'ok' | 'regressed' | null>;
  /** Renames the user's credential; false when it is not theirs or gone. */
  renameCredential(userId: string, id: string, name: string): Promise<boolean>;
  /** Removes the user's credential; false when it is not theirs or gone. */
  removeCredential(userId: string, id: string): Promise<boolean>;
}

/** The methods of a {@link CredentialStore}, for the shape check and the deadline guard. */
export const CREDENTIAL_STORE_METHODS = [
  'addCredential', 'getCredential', 'listCredentials', 'useCredential', 'renameCredential', 'removeCredential',
] as const satisfies readonly (keyof CredentialStore)[];

/** Whether `value` has every method of a {@link CredentialStore}. */
export function isCredentialStore(value: unknown): value is CredentialStore {
  return typeof value === 'object' && value !== null && CREDENTIAL_STORE_METHODS.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

/** WebAuthn §5.1 caps a credential id at 1023 bytes: 1364 base64url characters, 1366 padded-length. */
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1366}$/;
/** A COSE key is a few hundred bytes (an RSA-4096 key about 550): anything far larger is not one. */
const PUBLIC_KEY = /^[A-Za-z0-9_-]{1,4096}$/;
const TRANSPORT = /^[a-z-]{1,32}$/;
const MAX_TRANSPORTS = 8;
const MAX_NAME = 100;

/**
 * Checks the arguments of a {@link CredentialStore} call, the same in every store: a user id as
 * the token store takes it, and the `id`, `counter`, `name`, `publicKey` or `transports` the call
 * has. Misuse throws `TypeError` before anything reaches the backend; an unknown id is no misuse.
 */
export function checkCredentialArguments(
  owner: string,
  args: { userId?: unknown; id?: unknown; counter?: unknown; name?: unknown; publicKey?: unknown; transports?: unknown },
): void {
  if ('userId' in args) checkUserId(owner, args.userId);
  if ('id' in args && (typeof args.id !== 'string' || !CREDENTIAL_ID.test(args.id))) {
    throw new TypeError(`${owner}: a credential id is 1 to 1366 base64url characters`);
  }
  if ('publicKey' in args && (typeof args.publicKey !== 'string' || !PUBLIC_KEY.test(args.publicKey))) {
    throw new TypeError(`${owner}: publicKey must be 1 to 4096 base64url characters (a COSE key)`);
  }
  // The signature counter is a 32-bit unsigned integer on the wire (WebAuthn §6.1); compared as a number.
  if ('counter' in args && !(Number.isSafeInteger(args.counter) && (args.counter as number) >= 0)) {
    throw new TypeError(`${owner}: counter must be a non-negative safe integer`);
  }
  if ('transports' in args) {
    const { transports } = args;
    if (!Array.isArray(transports) || transports.length > MAX_TRANSPORTS || !transports.every((t) => typeof t === 'string' && TRANSPORT.test(t))) {
      throw new TypeError(`${owner}: transports must be an array of at most ${MAX_TRANSPORTS} strings matching ${TRANSPORT}`);
    }
  }
  if ('name' in args) {
    const { name } = args;
    // Counted in code points, as the user sees characters; a lone surrogate cannot be stored as text.
    if (typeof name !== 'string' || name === '' || [...name].length > MAX_NAME || !name.isWellFormed()) {
      throw new TypeError(`${owner}: name must be 1 to ${MAX_NAME} characters`);
    }
  }
}

/** Checks a whole {@link NewPasskeyCredential}. */
export function checkNewCredential(owner: string, credential: NewPasskeyCredential): void {
  if (typeof credential !== 'object' || credential === null) throw new TypeError(`${owner}: credential must be an object`);
  const { id, userId, publicKey, counter, transports, name } = credential;
  checkCredentialArguments(owner, { id, userId, publicKey, counter, transports, name });
}

/** A frozen {@link PasskeyCredential} from the SQL stores' row (snake_case), with each database's number and transports readers. */
export function credentialFromRow(
  row: Readonly<Record<string, unknown>>,
  int: (value: unknown) => number,
  transports: (value: unknown) => string[],
): PasskeyCredential {
  return Object.freeze({
    id: row.id as string,
    userId: String(row.user_id),
    publicKey: row.public_key as string,
    counter: int(row.counter),
    transports: Object.freeze(transports(row.transports)),
    name: row.name as string,
    createdAt: int(row.created_at),
    lastUsedAt: row.last_used_at === null || row.last_used_at === undefined ? null : int(row.last_used_at),
  });
}
